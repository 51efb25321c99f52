package testenv

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// DuckDBResult is what tools/duckdb-query.mjs prints for one statement.
type DuckDBResult struct {
	Columns []string         `json:"columns"`
	Rows    []map[string]any `json:"rows"`
}

// DuckDB runs one SQL statement in DuckDB (npm @duckdb/node-api, which scripts/test
// installs into tools/ and names in DOCINGEST_TEST_NODE and DOCINGEST_TEST_DUCKDB). It
// skips the test without them, or fails it under CI=true.
func DuckDB(t testing.TB, sql string) DuckDBResult {
	t.Helper()
	node, script := os.Getenv("DOCINGEST_TEST_NODE"), os.Getenv("DOCINGEST_TEST_DUCKDB")
	if node == "" || script == "" {
		Missing(t, "DuckDB (DOCINGEST_TEST_NODE and DOCINGEST_TEST_DUCKDB)")
	}
	cmd := exec.Command(node, script, sql)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("duckdb: %s: %v\n%s", sql, err, stderr.String())
	}
	var r DuckDBResult
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("duckdb output: %v\n%s", err, out)
	}
	return r
}
