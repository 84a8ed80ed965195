package respawn

// rewriteInitialSpawn replaces --initial-spawn with --respawn, so that
// every start after the first tells the server it is a restart.
func rewriteInitialSpawn(argv []string) {
	for i, a := range argv[1:] {
		if a == "--initial-spawn" {
			argv[i+1] = "--respawn"
		}
	}
}
