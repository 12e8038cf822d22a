package cli

import (
	"fmt"
	"slices"
	"strings"
)

// Secret keys become environment variable names (-format env, and a future
// `gdsvault exec`). Whoever can write the secret then chooses the names, so a
// key must not silently name a variable that changes which code a shell or a
// program loads (PATH, LD_PRELOAD, BASH_ENV...), nor silently replace another
// key's variable.

// dangerousEnv are the names refused without -env-prefix; dangerousEnvPrefixes
// are the families refused the same way.
var (
	dangerousEnv = map[string]bool{
		// shells
		"PATH": true, "ENV": true, "BASH_ENV": true, "PROMPT_COMMAND": true, "IFS": true,
		"PS1": true, "PS2": true, "PS3": true, "PS4": true, "SHELLOPTS": true, "BASHOPTS": true,
		"GLOBIGNORE": true, "HOME": true, "SHELL": true, "CDPATH": true, "ZDOTDIR": true, "TMPDIR": true,
		// interpreters and runtimes
		"PYTHONPATH": true, "PYTHONSTARTUP": true, "PYTHONHOME": true,
		"PERL5LIB": true, "PERL5OPT": true, "PERLLIB": true,
		"RUBYOPT": true, "RUBYLIB": true, "NODE_OPTIONS": true,
		"JAVA_TOOL_OPTIONS": true, "_JAVA_OPTIONS": true, "JDK_JAVA_OPTIONS": true,
		// the C library
		"GCONV_PATH": true,
	}
	dangerousEnvPrefixes = []string{"LD_", "DYLD_", "BASH_FUNC_"}
)

// isDangerousEnv reports whether setting the variable name can change which
// code runs. The comparison ignores case (Windows does).
func isDangerousEnv(name string) bool {
	n := strings.ToUpper(name)
	if dangerousEnv[n] {
		return true
	}
	for _, p := range dangerousEnvPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// normalEnvName upper-cases a key and replaces what a variable name cannot
// hold (anything but A-Z, 0-9 and _, and a leading digit) with _.
func normalEnvName(k string) string {
	var b strings.Builder
	for i, r := range strings.ToUpper(k) {
		switch {
		case r >= 'A' && r <= 'Z', r == '_', r >= '0' && r <= '9' && i > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// checkEnvPrefix accepts "" or a valid variable name start: a letter or _,
// then letters, digits and _.
func checkEnvPrefix(prefix string) error {
	for i, r := range prefix {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '_' || r >= '0' && r <= '9' && i > 0) {
			return usagef("-env-prefix %q is not the start of a variable name: use letters, digits and _, not starting with a digit", prefix)
		}
	}
	return nil
}

// envName is the variable a key becomes: prefix followed by the key
// normalised. It refuses a name that would be empty or dangerous
// (isDangerousEnv), naming the key, never its value. The prefix is expected
// to have passed checkEnvPrefix.
func envName(key, prefix string) (string, error) {
	name := prefix + normalEnvName(key)
	switch {
	case name == "":
		return "", fmt.Errorf("the empty key cannot be a variable name: use -env-prefix")
	case isDangerousEnv(name) && prefix == "":
		return "", fmt.Errorf("key %q would set %s, which changes how programs run: refusing (use -env-prefix PREFIX to give every variable a prefix)", key, name)
	case isDangerousEnv(name):
		return "", fmt.Errorf("key %q would set %s, which changes how programs run: refusing (choose another -env-prefix)", key, name)
	}
	return name, nil
}

// envNames maps every key to its variable name (envName), refusing two keys
// that become the same variable: one would silently replace the other.
// Errors name the keys, never their values.
func envNames(keys []string, prefix string) (map[string]string, error) {
	if err := checkEnvPrefix(prefix); err != nil {
		return nil, err
	}
	sorted := slices.Sorted(slices.Values(keys))
	names := make(map[string]string, len(keys))
	owner := make(map[string]string, len(keys)) // variable -> key
	for _, k := range sorted {
		name, err := envName(k, prefix)
		if err != nil {
			return nil, err
		}
		if other, ok := owner[name]; ok {
			return nil, fmt.Errorf("keys %q and %q would both set %s: refusing (rename one of them in Vault)", other, k, name)
		}
		owner[name] = k
		names[k] = name
	}
	return names, nil
}
