package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/crema-app/crema/model/transfer"
)

// Every setting of the schema is a flag (but the page's own), with its
// default and help in -h, and its example reads back through the flag.
func TestEverySettingIsAFlag(t *testing.T) {
	var help bytes.Buffer
	c := newCommon("crema", &help, "out.png")
	if err := c.parse([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for i := range transfer.Schema {
		f := &transfer.Schema[i]
		fl := c.fs.Lookup(f.Name)
		if f.PageOnly {
			if fl != nil {
				t.Errorf("-%s: a page-only setting is a flag", f.Name)
			}
			continue
		}
		if fl == nil {
			t.Errorf("setting %s has no flag", f.Name)
			continue
		}
		if fl.DefValue != f.CLI || !strings.Contains(help.String(), "-"+f.Name) || !strings.Contains(help.String(), f.Help) {
			t.Errorf("-%s: default %q (want %q), or -h lacks it or its help", f.Name, fl.DefValue, f.CLI)
		}
		c := newCommon("crema", &help, "out.png")
		if err := c.parse([]string{"-content_image", "c.png", "-" + f.Name, f.Example()}); err != nil {
			t.Errorf("-%s %s: %v", f.Name, f.Example(), err)
			continue
		}
		want := transfer.Defaults()
		want.Set(f.Name, f.Example())
		if got, _ := c.settings.Get(f.Name); got != f.Example() {
			t.Errorf("-%s %s reads back as %q", f.Name, f.Example(), got)
		}
		if c.settings.Values()[f.Name] != want.Values()[f.Name] {
			t.Errorf("-%s: the CLI and Set disagree", f.Name)
		}
	}
	// Limits and choices are in -h too.
	for _, want := range []string{"(8 to 4096)", "(gram, cov, meanstd, mmd)", "(above 0, at most 8)"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("-h lacks %q", want)
		}
	}
}
