// Package configfile reads a configuration struct from YAML and the environment and
// writes it back with its documentation, by reflection over `yaml` and `doc` tags, so that
// each key is declared once: in the package that reads it, with its documentation beside
// it.
//
// Errors name the key by its path in the file (chunking.max_size), with the line, and
// suggest the nearest key for a misspelt one; they never show Go types. Only
// cmd/docingest calls this package: the other packages never read files or the
// environment themselves.
package configfile

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Decode reads YAML from r into dst (a pointer to a struct holding defaults): keys the
// file gives replace the defaults, unknown keys and values of the wrong kind are errors
// naming the key's path and line. All errors are reported, not just the first.
func Decode(r io.Reader, dst any) error {
	var doc yaml.Node
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file
		}
		return fmt.Errorf("not YAML: %w", err)
	}
	var errs []error
	root := reflect.ValueOf(dst).Elem()
	decodeNode(&doc, root, "", &errs, root.Type())
	return errors.Join(errs...)
}

// decodeNode decodes n into v (addressable), appending an error per bad key to errs.
// root is the type of the whole configuration, for keys that moved to another section.
func decodeNode(n *yaml.Node, v reflect.Value, path string, errs *[]error, root reflect.Type) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && v.Kind() != reflect.Pointer {
		return // "key:" with no value keeps the default
	}
	if custom(v) {
		decodeLeaf(n, v, path, errs)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			*errs = append(*errs, fmt.Errorf("line %d: %s: must be a section of keys, got %s", n.Line, orRoot(path), describe(n)))
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			kp := join(path, k.Value)
			if seen[k.Value] {
				*errs = append(*errs, fmt.Errorf("line %d: %s: given twice", k.Line, kp))
				continue
			}
			seen[k.Value] = true
			f, ok := fieldByKey(v, k.Value)
			if !ok {
				hint := suggest(k.Value, keysOf(v.Type()), path)
				if hint == "" {
					hint = moved(root, path, k.Value)
				}
				*errs = append(*errs, fmt.Errorf("line %d: %s: unknown key%s", k.Line, kp, hint))
				continue
			}
			decodeNode(val, f, kp, errs, root)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Struct {
			decodeLeaf(n, v, path, errs)
			return
		}
		if n.Kind != yaml.SequenceNode {
			*errs = append(*errs, fmt.Errorf("line %d: %s: must be a list, got %s", n.Line, path, describe(n)))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			decodeNode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), errs, root)
		}
		v.Set(s)
	case reflect.Pointer:
		if n.Tag == "!!null" {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		p := reflect.New(v.Type().Elem())
		decodeNode(n, p.Elem(), path, errs, root)
		v.Set(p)
	default:
		decodeLeaf(n, v, path, errs)
	}
}

// custom reports types that read themselves from YAML (units.Duration, units.ByteSize).
func custom(v reflect.Value) bool {
	_, ok := v.Addr().Interface().(yaml.Unmarshaler)
	return ok
}

// decodeLeaf decodes a value that is not a section: a scalar, a list of scalars, a map.
func decodeLeaf(n *yaml.Node, v reflect.Value, path string, errs *[]error) {
	want := kindName(v.Type())
	switch {
	case custom(v):
		if n.Kind != yaml.ScalarNode {
			*errs = append(*errs, fmt.Errorf("line %d: %s: must be %s, got %s", n.Line, path, want, describe(n)))
			return
		}
	case v.Kind() == reflect.Slice && n.Kind != yaml.SequenceNode,
		v.Kind() == reflect.Map && n.Kind != yaml.MappingNode,
		v.Kind() != reflect.Slice && v.Kind() != reflect.Map && n.Kind != yaml.ScalarNode:
		*errs = append(*errs, fmt.Errorf("line %d: %s: must be %s, got %s", n.Line, path, want, describe(n)))
		return
	}
	p := reflect.New(v.Type())
	if err := n.Decode(p.Interface()); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) || strings.Contains(err.Error(), "cannot unmarshal") {
			*errs = append(*errs, fmt.Errorf("line %d: %s: must be %s, got %s", n.Line, path, want, describe(n)))
		} else {
			*errs = append(*errs, fmt.Errorf("line %d: %s: %s", n.Line, path, strings.TrimPrefix(err.Error(), "yaml: ")))
		}
		return
	}
	v.Set(p.Elem())
}

// kindName says what a value of type t looks like in YAML, in a user's words.
func kindName(t reflect.Type) string {
	switch t.Name() {
	case "Duration":
		return "a duration (like 30s or 2m)"
	case "ByteSize":
		return "a byte size (like 104857600, 100MiB or 1.5GB)"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "text"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(kindName(t.Elem()), "a "), "an ") + " values"
	case reflect.Map:
		return "a map of keys to values"
	case reflect.Struct:
		return "a section of keys"
	}
	return "a value"
}

// describe names what the file gave, in a user's words.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a section of keys"
	case yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return fmt.Sprintf("%q", v)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "the file"
	}
	return path
}

// key returns the YAML name of a struct field ("" when it has none or is skipped).
func key(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

func fieldByKey(v reflect.Value, k string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if key(t.Field(i)) == k && k != "" {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func keysOf(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if k := key(t.Field(i)); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// suggest returns " (did you mean <path>.<nearest>?)" when a known key is close to k.
func suggest(k string, known []string, path string) string {
	if best, ok := nearest(k, known); ok {
		return " (did you mean " + join(path, best) + "?)"
	}
	return ""
}

// moved returns " (it is <section>.<k> now)" when a section enclosing path has the key k:
// a key that moved up a level (labeling.ground_truth.job_prefix became
// labeling.job_prefix).
func moved(root reflect.Type, path, k string) string {
	parts := strings.Split(path, ".")
	for n := len(parts) - 1; n >= 0; n-- {
		t, ok := root, true
		for _, p := range parts[:n] {
			if t, ok = fieldType(t, p); !ok {
				break
			}
		}
		if !ok {
			continue
		}
		if _, has := fieldType(t, k); has {
			return " (it is " + join(strings.Join(parts[:n], "."), k) + " now)"
		}
	}
	return ""
}

// fieldType is the struct type of the field named k of t (pointers and slices looked
// through), or false.
func fieldType(t reflect.Type, k string) (reflect.Type, bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || k == "" {
		return nil, false
	}
	for i := 0; i < t.NumField(); i++ {
		if key(t.Field(i)) == k {
			return t.Field(i).Type, true
		}
	}
	return nil, false
}

// Nearest returns the known name closest to s by edit distance, if it is close enough to
// be a typo of it (command-line flags use it too).
func Nearest(s string, known []string) (string, bool) { return nearest(s, known) }

func nearest(s string, known []string) (string, bool) {
	best, bestD := "", -1
	for _, k := range known {
		if d := distance(strings.ToLower(s), strings.ToLower(k)); bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	return best, bestD >= 0 && bestD <= max(2, len(s)/4)
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Key is one settable key: its path in the file, its environment variable and its
// documentation.
type Key struct {
	Path string
	Env  string
	Doc  string
	// Section is true for a struct of keys (which has no variable of its own).
	Section bool
	field   []int
}

// Keys lists every key of cfg's type (a struct), sections before their keys, in
// declaration order; env variables are envPrefix + the path in upper case with "." as "_".
func Keys(cfg any, envPrefix string) []Key {
	var out []Key
	var walk func(t reflect.Type, path string, index []int)
	walk = func(t reflect.Type, path string, index []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			k := key(f)
			if k == "" {
				continue
			}
			p := join(path, k)
			idx := append(append([]int(nil), index...), i)
			section := f.Type.Kind() == reflect.Struct && !custom(reflect.New(f.Type).Elem())
			out = append(out, Key{Path: p, Env: envPrefix + strings.ToUpper(strings.ReplaceAll(p, ".", "_")), Doc: f.Tag.Get("doc"), Section: section, field: idx})
			if section {
				walk(f.Type, p, idx)
			}
		}
	}
	walk(reflect.TypeOf(cfg), "", nil)
	return out
}

// ApplyEnv sets every key named by a variable envPrefix+KEY in environ ("NAME=value"
// strings) on dst, a pointer to a struct. A text key takes the value as it is (an empty
// value empties it); other keys read it as YAML (a number, true, 30s, [a, b]). A variable
// that starts with envPrefix and names no key is an error suggesting the nearest one,
// unless ignore reports it as someone else's.
func ApplyEnv(dst any, envPrefix string, environ []string, ignore func(name string) bool) error {
	root := reflect.ValueOf(dst).Elem()
	byEnv := map[string]Key{}
	var names []string
	for _, k := range Keys(root.Interface(), envPrefix) {
		if !k.Section {
			byEnv[k.Env] = k
			names = append(names, k.Env)
		}
	}
	var errs []error
	var vars []string
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(name, envPrefix) {
			vars = append(vars, kv)
		}
	}
	sort.Strings(vars) // the same errors in the same order, whatever the environment's order
	for _, kv := range vars {
		name, val, _ := strings.Cut(kv, "=")
		k, ok := byEnv[name]
		if !ok {
			if ignore != nil && ignore(name) {
				continue
			}
			hint := ""
			if best, ok := nearest(name, names); ok {
				hint = " (did you mean " + best + "?)"
			}
			errs = append(errs, fmt.Errorf("%s: unknown variable: no configuration key has this name%s", name, hint))
			continue
		}
		f := root.FieldByIndex(k.field)
		if f.Kind() == reflect.String {
			f.SetString(val)
			continue
		}
		if strings.TrimSpace(val) == "" {
			errs = append(errs, fmt.Errorf("%s (%s): empty: unset it, or give %s", name, k.Path, kindName(f.Type())))
			continue
		}
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(val), &n); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): not a YAML value: %s", name, k.Path, strings.TrimPrefix(err.Error(), "yaml: ")))
			continue
		}
		var ferrs []error
		decodeNode(&n, f, k.Path, &ferrs, f.Type())
		for _, err := range ferrs {
			// The line of a variable is always 1: say where the value came from instead.
			msg := strings.TrimPrefix(err.Error(), "line 1: ")
			errs = append(errs, fmt.Errorf("%s: %s", name, msg))
		}
	}
	return errors.Join(errs...)
}

// Encode writes cfg as YAML with each key's documentation (its `doc` tag) above it.
func Encode(w io.Writer, cfg any) error {
	var root yaml.Node
	if err := root.Encode(cfg); err != nil {
		return err
	}
	docs := map[string]string{}
	for _, k := range Keys(cfg, "") {
		docs[k.Path] = k.Doc
	}
	annotate(&root, "", docs)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return err
	}
	return enc.Close()
}

func annotate(n *yaml.Node, prefix string, docs map[string]string) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(prefix, k.Value)
		if doc := docs[p]; doc != "" {
			k.HeadComment = doc
		}
		annotate(val, p, docs)
	}
}
