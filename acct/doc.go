// Package acct reads the records that the kernel's BSD process accounting,
// switched on with acct(2), appends to its file: one fixed-size record per
// ended process (struct acct_v3 of linux/acct.h on current kernels, struct
// acct version 2 on old ones).
//
// Parse and ParseAll only decode bytes; they take any input without
// panicking and never read past the record they decode.
package acct
