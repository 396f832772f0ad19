/*
 * file: reading whole files, the one way the shell reads configuration
 * pieces, keys, state records and zone files; and the one crash-safe way
 * it replaces a file (the state records, the results files, stored
 * webhook events): temp file, fdatasync, rename, fsync of the folder
 * (OpenSMTPD queue_fs.c, plus the folder sync); for many files at once,
 * one syncfs in place of the fdatasyncs (and of the folders' fsyncs).
 */
#ifndef BC_FILE_H
#define BC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Read a whole file into memory (NUL-terminated; *ret_len excludes the NUL).
 * Refuses files over max bytes with -EFBIG, folders with -EISDIR; 0 or a
 * negative errno. */
int file_read(const char *path, size_t max, char **ret, size_t *ret_len);
/* Create the folder dir (0750) if needed and take the lock DIR/lock
 * (flock, exclusive): 0 and *ret_fd, -EBUSY when another process holds it,
 * or another negative errno; *cause says which. */
int file_lock_dir(const char *dir, int *ret_fd, char **cause);

/* Flags of file_read_ex. */
enum {
	/* Only a regular file, never blocking on a FIFO or a device
	 * (-EINVAL for anything but a regular file). */
	FILE_READ_REGULAR = 1u << 0,
	/* ... named directly: no symbolic link as the last component
	 * (-ELOOP). For files in a folder others may write (results_dir). */
	FILE_READ_NOFOLLOW = 1u << 2,
	/* ... regular, named directly, and owned by this process's user
	 * (-EPERM): a file the daemon wrote itself, not one planted beside
	 * it. */
	FILE_READ_OWN = 1u << 1,
};

/* file_read with flags (0: as file_read). */
int file_read_ex(const char *path, size_t max, unsigned flags, char **ret, size_t *ret_len);

/* A piece of a file's text. */
struct file_piece {
	const char *p;
	size_t n;
};

/* Append the n bytes at p to fd (opened O_APPEND) and fdatasync: 0, or
 * a negative errno with the file cut back to its size before, so that
 * nothing half written stays behind to join the next line. */
int file_append_sync(int fd, const char *p, size_t n);

/* Append the n bytes at p to fd (opened O_APPEND, was bytes long) without
 * a sync (a cache: what a crash loses is fetched again): 0, or a negative
 * errno with the file cut back to was. */
int file_append(int fd, off_t was, const char *p, size_t n);

/* Write the n pieces into name in the folder dirfd (created or truncated,
 * mode less the umask), with an fdatasync when sync; 0, or a negative
 * errno and the file removed. */
int file_write_at(int dirfd, const char *name, const struct file_piece *v, size_t n, mode_t mode, bool sync);

/* Replace name in the folder dirfd with the n pieces, crash-safely: a
 * reader (and a restart after kill -9 or a power cut) sees the old file or
 * the new one, never a mix; when it returns 0 the new one is durable.
 * Written as ".NAME.tmp" first. 0, or a negative errno (the old file
 * stays). */
int file_replace_at(int dirfd, const char *name, const struct file_piece *v, size_t n, mode_t mode);

/* Replace n files of the folder dirfd at once (names distinct), with one
 * sync for all: every temporary file, one syncfs (one journal commit of
 * the file system instead of one per file), every rename, one fsync of
 * the folder. When it returns 0 all are durable; on failure any of them
 * may still be its old version, never a mix within a file. names[i] gets
 * the n_pieces[i] pieces of pieces[i]. 0, or a negative errno. */
int file_replace_many_at(int dirfd, const char *const *names, const struct file_piece *const *pieces,
			 const size_t *n_pieces, size_t n, mode_t mode);

/* Files of one folder for file_replace_sets: names[i] (distinct within
 * the folder) gets the n_pieces[i] pieces of pieces[i]; result is set. */
struct file_set {
	int dirfd;
	const char *const *names;
	const struct file_piece *const *pieces;
	const size_t *n_pieces;
	size_t n;
	int result; /* 0, or a negative errno */
};

/* Replace the files of n sets (their folders on any number of file
 * systems) at once: every temporary file, one syncfs of each file system
 * they are on, every rename, one more syncfs of each (which makes the
 * renames durable as an fsync of each folder would, in one journal commit
 * instead of one per folder). A set whose result is 0 is durable; one
 * whose result is negative (a write or a rename of its own failed, or
 * the sync of its file system) may still have its old version of any of
 * its files, never a mix within a file: a reader, and a restart after
 * kill -9 or a power cut at any moment, sees each file old or new. */
void file_replace_sets(struct file_set *v, size_t n, mode_t mode);

#endif
