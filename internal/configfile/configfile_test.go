package configfile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/docingest/docingest/internal/units"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

type item struct {
	Name string `yaml:"name" doc:"the item's name"`
	Size *int   `yaml:"size,omitempty"`
}

type inner struct {
	Limit units.ByteSize `yaml:"limit" doc:"a byte size"`
	Wait  units.Duration `yaml:"wait" doc:"a duration"`
	Tags  []string       `yaml:"tags" doc:"some tags"`
}

type conf struct {
	Count int     `yaml:"count" doc:"how many"`
	Ratio float64 `yaml:"ratio" doc:"a share"`
	On    bool    `yaml:"on_off" doc:"a switch"`
	Inner inner   `yaml:"inner" doc:"a section"`
	Items []item  `yaml:"items" doc:"a list of sections"`
	skip  int
}

func defaults() conf { return conf{Count: 3, Inner: inner{Limit: 1 << 20, Tags: []string{"x"}}} }

func TestDecode(t *testing.T) {
	t.Parallel()
	c := defaults()
	err := Decode(strings.NewReader("count: 5\ninner:\n  limit: 1.5GB\n  wait: 90s\nitems:\n  - name: a\n    size: 2\n  - name: b\n"), &c)
	if err != nil {
		t.Fatal(err)
	}
	two := 2
	want := conf{Count: 5, Inner: inner{Limit: 1.5e9, Wait: units.Duration(90e9), Tags: []string{"x"}}, Items: []item{{Name: "a", Size: &two}, {Name: "b"}}}
	if diff := cmp.Diff(want, c, cmp.AllowUnexported(conf{})); diff != "" {
		t.Fatal(diff)
	}
	// An empty file and an empty section keep the defaults.
	for _, body := range []string{"", "inner:\n", "# only a comment\n"} {
		c := defaults()
		if err := Decode(strings.NewReader(body), &c); err != nil || !cmp.Equal(c, defaults(), cmp.AllowUnexported(conf{})) {
			t.Errorf("%q: %v, %+v", body, err, c)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for body, want := range map[string][]string{
		"cout: 5\n":                     {"line 1: cout: unknown key (did you mean count?)"},
		"inner:\n  limt: 5\n":           {"line 2: inner.limt: unknown key (did you mean inner.limit?)"},
		"zzzzzz: 1\n":                   {"line 1: zzzzzz: unknown key\n", "line 1: zzzzzz: unknown key"},
		"count: many\n":                 {`line 1: count: must be a whole number, got "many"`},
		"ratio: [1]\n":                  {"line 1: ratio: must be a number, got a list"},
		"inner: 5\n":                    {`line 1: inner: must be a section of keys, got "5"`},
		"inner:\n  tags: a\n":           {`line 2: inner.tags: must be a list of text values, got "a"`},
		"inner:\n  limit: lots\n":       {`line 2: inner.limit: "lots" is not a byte size`},
		"inner:\n  wait: [1]\n":         {"line 2: inner.wait: must be a duration (like 30s or 2m), got a list"},
		"items: {name: a}\n":            {"line 1: items: must be a list, got a section of keys"},
		"items:\n  - nme: a\n":          {"line 2: items[0].nme: unknown key (did you mean items[0].name?)"},
		"items:\n  - size: x\n":         {`line 2: items[0].size: must be a whole number, got "x"`},
		"count: 1\ncount: 2\n":          {"line 2: count: given twice"},
		"on_off: maybe\ncount: x\n":     {`line 1: on_off: must be true or false, got "maybe"`, `line 2: count: must be a whole number, got "x"`},
		"- a\n":                         {"the file: must be a section of keys, got a list"},
		"count: [\n":                    {"not YAML"},
		"skip: 1\n":                     {"line 1: skip: unknown key"},
		"inner:\n  count: 1\n":          {"line 2: inner.count: unknown key (it is count now)"},
		"count: 99999999999999999999\n": {"line 1: count: must be a whole number"},
	} {
		c := defaults()
		err := Decode(strings.NewReader(body), &c)
		if err == nil {
			t.Errorf("%q: no error", body)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error()+"\n", w) {
				t.Errorf("%q: error %q lacks %q", body, err, w)
			}
		}
	}
}

func TestApplyEnv(t *testing.T) {
	t.Parallel()
	c := defaults()
	err := ApplyEnv(&c, "APP_", []string{"APP_COUNT=7", "APP_INNER_LIMIT=100mb", "APP_INNER_TAGS=[a, b]", "APP_ITEMS=[{name: z}]", "OTHER=1", "APP_IGNORED=1"},
		func(name string) bool { return name == "APP_IGNORED" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Count != 7 || c.Inner.Limit != 100e6 || len(c.Inner.Tags) != 2 || len(c.Items) != 1 || c.Items[0].Name != "z" {
		t.Fatalf("%+v", c)
	}
	err = ApplyEnv(&c, "APP_", []string{"APP_CUONT=1", "APP_INNER=1", "APP_RATIO=", "APP_ON_OFF=perhaps"}, nil)
	for _, w := range []string{"APP_CUONT: unknown variable: no configuration key has this name (did you mean APP_COUNT?)",
		"APP_INNER: unknown variable", "APP_RATIO (ratio): empty", `APP_ON_OFF: on_off: must be true or false, got "perhaps"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

func TestEncodeDocumentsKeys(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Encode(&buf, defaults()); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"# how many\ncount: 3\n", "# a section\ninner:\n  # a byte size\n  limit: 1MiB\n"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("encoded form lacks %q:\n%s", w, buf.String())
		}
	}
	c := conf{}
	if err := Decode(&buf, &c); err != nil || !cmp.Equal(c, defaults(), cmp.AllowUnexported(conf{}), cmpopts.EquateEmpty()) {
		t.Fatalf("encoded form does not read back: %v %+v", err, c)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"count: 5\n", "inner:\n  limit: 1.5GB\n", "items:\n  - name: a\n    size: 2\n", "a: &x [1]\nb: *x\n", "count: 1\ncount: 2\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := defaults()
		_ = Decode(strings.NewReader(s), &c) // must not panic or hang
	})
}
