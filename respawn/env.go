package respawn

import "strings"

// hasEnv reports whether st changes the environment a server starts with.
func (st *Settings) hasEnv() bool {
	return len(st.Env) > 0 || len(st.UnsetEnv) > 0 || len(st.EnvFiles) > 0 || st.EnvironSet
}

// serverEnv is the environment of a server with settings st: base (respawn's
// own) without the UnsetEnv names, then each EnvFiles file's variables, read
// now, then Env; a later value of a name replaces an earlier one in place.
// An unreadable or malformed env-file is an error.
func serverEnv(base []string, st *Settings) ([]string, error) {
	if st.EnvironSet {
		base = st.Environ
	}
	e := envSet{at: make(map[string]int, len(base)+len(st.Env))}
	e.set(base)
	for _, k := range st.UnsetEnv {
		e.unset(k)
	}
	for _, path := range st.EnvFiles {
		kvs, err := readEnvFile(path)
		if err != nil {
			return nil, err
		}
		e.set(kvs)
	}
	e.set(st.Env)
	return e.list(), nil
}

// envSet is an environment being built: the entries in order, and where
// each name's entry is ("" for a removed one).
type envSet struct {
	kvs []string
	at  map[string]int
}

func (e *envSet) set(kvs []string) {
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := e.at[k]; ok {
			e.kvs[i] = kv
			continue
		}
		e.at[k] = len(e.kvs)
		e.kvs = append(e.kvs, kv)
	}
}

func (e *envSet) unset(k string) {
	if i, ok := e.at[k]; ok {
		e.kvs[i] = ""
		delete(e.at, k)
	}
}

func (e *envSet) list() []string {
	out := make([]string, 0, len(e.at))
	for _, kv := range e.kvs {
		if kv != "" {
			out = append(out, kv)
		}
	}
	return out
}
