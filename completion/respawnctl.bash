# bash completion for respawnctl(8): its flags, its commands, and the
# names of the servers and tasks of the respawn it talks to (asked with
# "respawnctl list" on the socket given on the line being completed).
# Needs nothing but bash; installed as
# /usr/share/bash-completion/completions/respawnctl.

_respawnctl_commands='list status revive stop restart reload shutdown fire-watchdog start signal upgrade dump events watch unwatch'
_respawnctl_flags='--socket --json --timeout --wait --help --version --exe --name --regex --pid --action --reload'
_respawnctl_watch_flags='--exe --name --regex --pid --action'

# _respawnctl_watched prints the pid of every watched process, one a line,
# from the digits after each '"pid":' key of the watched answer.
_respawnctl_watched() {
	local answer
	answer=$(command respawnctl "$@" --timeout 2s --json watch 2>/dev/null) || return
	while [[ $answer =~ \"pid\":([0-9]+) ]]; do
		printf '%s\n' "${BASH_REMATCH[1]}"
		answer=${answer#*"${BASH_REMATCH[0]}"}
	done
}

# _respawnctl_targets prints the name of every server and task, one a
# line. A name is letters, digits, '-', '_' and '.': it needs no JSON
# decoder, and a '"name":"' seen in the answer is a key, never text inside
# a string (where the quotes would be escaped).
_respawnctl_targets() {
	local answer
	answer=$(command respawnctl "$@" --timeout 2s --json list 2>/dev/null) || return
	while [[ $answer =~ \"name\":\"([A-Za-z0-9._-]+)\" ]]; do
		printf '%s\n' "${BASH_REMATCH[1]}"
		answer=${answer#*"${BASH_REMATCH[0]}"}
	done
}

_respawnctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local -a sock=() args=()
	local i w cmd=
	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--socket | -s)
			((i++))
			[[ ${COMP_WORDS[i]} == = ]] && ((i++)) # --socket=PATH, split at '='
			sock=(--socket "${COMP_WORDS[i]}")
			;;
		--socket=*) sock=(--socket "${w#--socket=}") ;;
		--timeout | --exe | --name | --regex | --pid | --action) ((i++)) ;;
		-*) ;;
		*) if [[ -z $cmd ]]; then cmd=$w; else args+=("$w"); fi ;;
		esac
	done
	if [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
		prev=${COMP_WORDS[COMP_CWORD-2]}
	fi
	case $prev in
	--socket | -s)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--timeout | --name | --regex | --pid) return ;;
	--exe)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--action)
		mapfile -t COMPREPLY < <(compgen -W 'restart notify' -- "$cur")
		return
		;;
	esac
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$_respawnctl_flags" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$_respawnctl_commands" -- "$cur")
		fi
		return
	fi
	case $cmd:${#args[@]} in
	status:0 | stop:0 | restart:0 | reload:0 | start:0 | revive:0 | signal:0)
		mapfile -t COMPREPLY < <(compgen -W "$(_respawnctl_targets "${sock[@]}")" -- "$cur")
		;;
	watch:*)
		[[ $cur == -* ]] && mapfile -t COMPREPLY < <(compgen -W "$_respawnctl_watch_flags --reload" -- "$cur")
		;;
	unwatch:0)
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$_respawnctl_watch_flags" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$(_respawnctl_watched "${sock[@]}")" -- "$cur")
		fi
		;;
	signal:1)
		local -a sigs
		mapfile -t sigs < <(compgen -A signal)
		[[ $cur == SIG* ]] || sigs=("${sigs[@]#SIG}")
		mapfile -t COMPREPLY < <(compgen -W "${sigs[*]}" -- "$cur")
		;;
	esac
}

complete -F _respawnctl respawnctl
