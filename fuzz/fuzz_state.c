/*
 * fuzz_state: libFuzzer target for the daemon's state file reader. A state
 * file is outside input as far as the reader goes: a power cut, a full disk
 * or a hand edit can leave any bytes in it. state_parse must give a run or
 * -EBADMSG with a cause, never a crash, a leak or a read past the buffer
 * (the input is copied so ASan sees its exact end).
 *
 * A run that parses is written back with state_format and read again: the
 * second reading must succeed and write the very same text (what the daemon
 * wrote it can always read, and nothing is lost on the way).
 *
 * The same bytes as a journal line: state_tombstone_parse gives a run's
 * identity or -EINVAL; an identity it gives is written back with
 * state_tombstone_format and read again to the same identity.
 *
 * Seeds: fuzz/corpus/state/; dictionary: fuzz/state.dict.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1), *cause = NULL, *text, *again;
	struct run *r = NULL, *r2 = NULL;
	int rc;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	{
		char *job = NULL, *part = NULL, *job2 = NULL, *part2 = NULL, *line;
		int64_t start = 0, start2 = 0;
		if (state_tombstone_parse(buf, size, &job, &start, &part) == 0) {
			line = state_tombstone_format(job, start, part);
			if (state_tombstone_parse(line, strlen(line), &job2, &start2, &part2) != 0 ||
			    strcmp(job, job2) != 0 || start != start2 || (!part != !part2) ||
			    (part && strcmp(part, part2) != 0))
				abort();
			free(line);
			free(job), free(part), free(job2), free(part2);
		}
	}
	rc = state_parse(buf, size, &r, &cause);
	free(buf);
	if (rc < 0) {
		/* damage is reported, with a reason, and nothing is handed out */
		if (rc != -EBADMSG || !cause || !*cause || r)
			abort();
		free(cause);
		return 0;
	}
	if (cause || !r)
		abort();
	text = state_format(r);
	if (state_parse(text, strlen(text), &r2, &cause) != 0)
		abort();
	again = state_format(r2);
	if (strcmp(text, again) != 0)
		abort();
	free(again);
	free(text);
	run_free(r2);
	run_free(r);
	return 0;
}
