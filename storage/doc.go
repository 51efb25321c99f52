// Package storage holds the places documents are read from and outputs written to: a
// local folder now, an S3 prefix later, behind the same small set of methods (List, Open,
// Get, Put, Delete) that worker declares as its own interfaces.
//
// Keys are slash-separated and relative to the store's root. A store never reads or
// writes outside its root, whatever the key: keys with empty, "." or ".." segments are
// refused. Writes are atomic and durable (temporary file, fsync, rename) so that a reader,
// or a process killed mid-write, never sees half an object.
package storage
