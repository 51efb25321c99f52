// Runs one SQL statement in an in-memory DuckDB (npm @duckdb/node-api) and prints the rows
// as one JSON array: the independent reader the dataset tests check Parquet exports with.
//   node duckdb-query.mjs "SELECT count(*) AS n FROM read_parquet('x/*.parquet')"
import { DuckDBInstance } from '@duckdb/node-api';

const sql = process.argv[2];
if (!sql) {
  console.error('usage: duckdb-query.mjs SQL');
  process.exit(2);
}
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const reader = await conn.runAndReadAll(sql);
const rows = reader.getRowObjectsJson();
process.stdout.write(JSON.stringify({ columns: reader.columnNames(), types: reader.columnTypesJson ? reader.columnTypesJson() : null, rows }) + '\n');
