package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-sha256", strings.Repeat("ab", 32)}, "-sha256 and -preprocess describe -url's file; give -url too"},
		{[]string{"extra"}, "unexpected arguments [extra]"},
		{[]string{"-url", "http://127.0.0.1:1/vgg19.pth"}, "vgg19.pth carries no SHA-256 prefix in its name"},
	} {
		var log bytes.Buffer
		err := run(append([]string{"-o", t.TempDir()}, c.args...), &log, http.DefaultClient)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}
