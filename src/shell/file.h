/*
 * file: reading whole files, the one way the shell reads configuration
 * pieces, keys, state records and zone files.
 */
#ifndef BC_FILE_H
#define BC_FILE_H

#include <stddef.h>

/* Read a whole file into memory (NUL-terminated; *ret_len excludes the NUL).
 * Refuses files over max bytes with -EFBIG, folders with -EISDIR; 0 or a
 * negative errno. */
int file_read(const char *path, size_t max, char **ret, size_t *ret_len);

#endif
