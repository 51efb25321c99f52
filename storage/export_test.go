package storage

// TmpPrefix names the temporary files of Local, for the tests.
const TmpPrefix = tmpPrefix
