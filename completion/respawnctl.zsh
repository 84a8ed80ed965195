#compdef respawnctl
# zsh completion for respawnctl(8): its flags, its commands, and the names
# of the servers and tasks of the respawn it talks to (asked with
# "respawnctl list" on the socket given on the line being completed).
# Installed as _respawnctl in a directory of $fpath
# (/usr/share/zsh/vendor-completions on Debian).

# _respawnctl_targets offers the name of every server and task. A name is
# letters, digits, '-', '_' and '.': a '"name":"' in the JSON answer is a
# key, never text inside a string (where the quotes would be escaped).
_respawnctl_targets() {
	local -a sock names
	local answer
	[[ -n ${opt_args[--socket]:-${opt_args[-s]}} ]] &&
		sock=(--socket ${(Q)${opt_args[--socket]:-${opt_args[-s]}}})
	answer=$(_call_program targets respawnctl ${(q)sock} --timeout 2s --json list 2>/dev/null) || return 1
	while [[ $answer == *'"name":"'* ]]; do
		answer=${answer#*'"name":"'}
		names+=(${answer%%'"'*})
	done
	names=(${(M)names:#[A-Za-z0-9._-]##})
	_wanted targets expl 'server or task' compadd -a names
}

# _respawnctl_watched offers the pid of every watched process, from the
# digits after each '"pid":' key of the watched answer.
_respawnctl_watched() {
	local -a sock pids
	local answer
	[[ -n ${opt_args[--socket]:-${opt_args[-s]}} ]] &&
		sock=(--socket ${(Q)${opt_args[--socket]:-${opt_args[-s]}}})
	answer=$(_call_program watched respawnctl ${(q)sock} --timeout 2s --json watch 2>/dev/null) || return 1
	while [[ $answer == *'"pid":'[0-9]* ]]; do
		answer=${answer#*'"pid":'}
		pids+=(${answer%%[^0-9]*})
	done
	_wanted pids expl 'watched process' compadd -a pids
}

_respawnctl_commands() {
	local -a cmds
	cmds=(
		'list:every server and task'
		'status:one server or task'
		'revive:start the buried again'
		'stop:stop a server; cremated when it ends'
		'restart:stop a server, wait for its end, start it'
		'reload:send a server its reload signal'
		'shutdown:stop everything and exit'
		'fire-watchdog:reset the machine now through the watchdog device'
		'start:start a cremated, buried or dead one now'
		'signal:send a signal to a server'\''s process group'
		'upgrade:live upgrade of respawn'
		'dump:the info dump'
		'events:every state transition as it happens'
		'watch:list the watched, or watch processes respawn did not start'
		'unwatch:remove a watch rule, or stop watching a process'
	)
	_describe -t commands 'respawnctl command' cmds
}

_respawnctl() {
	local curcontext=$curcontext state line expl
	local -A opt_args
	_arguments -C -s \
		'(-s --socket)'{-s+,--socket=}'[the control socket]:socket:_files' \
		'--json[print the supervisor'\''s JSON answers]' \
		'--timeout=[how long to wait for the answer]:duration (like 10s)' \
		'--wait[stop: return once the server has ended]' \
		'--exe=[watch, unwatch: the rule by executable path]:glob:_files' \
		'--name=[watch, unwatch: the rule by name]:name' \
		'--regex=[watch, unwatch: the rule by a regexp of the command line]:regexp' \
		'--pid=[watch, unwatch: the rule of one process]:pid' \
		'--action=[watch: what an abnormal exit does]:action:(restart notify)' \
		'--reload[watch: reread the --watch-file files]' \
		'(- *)'{-h,--help}'[print the help and exit]' \
		'(- *)--version[print the version and exit]' \
		'1:command:_respawnctl_commands' \
		'*::argument:->args' && return 0
	[[ $state == args ]] || return 1
	case $words[1]:$CURRENT in
	(status:2|stop:2|restart:2|reload:2|start:2|revive:2|signal:2) _respawnctl_targets ;;
	(unwatch:2) _respawnctl_watched ;;
	(signal:3) _wanted signals expl signal compadd -- ${signals[2,-1]:#(ZERR|DEBUG|EXIT)} ;;
	(*) return 1 ;;
	esac
}

_respawnctl "$@"
