// The reference renderer: Go's own text/template with sprig (minus env, expandenv and
// getHostByName, which Commander's engine must not have). Reads one JSON request per line on
// stdin and answers one JSON line per request on stdout, so one process serves a whole corpus.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"text/template"
	"time"

	"github.com/Masterminds/sprig"
)

type request struct {
	ID         int             `json:"id"`
	Template   string          `json:"template"`
	Values     json.RawMessage `json:"values"`
	Iterations int             `json:"iterations"`
}

type response struct {
	ID     int     `json:"id"`
	Output []byte  `json:"output"` // base64 in JSON: the bytes exactly as rendered
	Error  *string `json:"error"`
	Nanos  int64   `json:"nanos"`
}

func funcs() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	delete(f, "getHostByName")
	return f
}

func render(req request, fm template.FuncMap) response {
	var values interface{}
	if len(req.Values) > 0 {
		if err := json.Unmarshal(req.Values, &values); err != nil {
			msg := "values: " + err.Error()
			return response{ID: req.ID, Error: &msg}
		}
	}
	iterations := req.Iterations
	if iterations < 1 {
		iterations = 1
	}
	var out bytes.Buffer
	start := time.Now()
	for i := 0; i < iterations; i++ {
		out.Reset()
		t, err := template.New("template").Funcs(fm).Parse(req.Template)
		if err == nil {
			err = t.Execute(&out, values)
		}
		if err != nil {
			msg := err.Error()
			return response{ID: req.ID, Error: &msg}
		}
	}
	return response{ID: req.ID, Output: out.Bytes(), Nanos: time.Since(start).Nanoseconds()}
}

func main() {
	fm := funcs()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			msg := "request: " + err.Error()
			out.Encode(response{ID: -1, Error: &msg})
			continue
		}
		out.Encode(render(req, fm))
	}
}
