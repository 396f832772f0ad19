# conformance area: appends to the variables of Makefile.am
#
# The official ElevenLabs JS SDK (pinned in tests/conformance/package.json and
# package-lock.json, installed by run.sh with `npm ci`) drives batchcall-sim
# and validates every response; run.sh also checks the raw JSON against the
# API document. It needs node >= 18, npm and the npm registry; it fails (never
# skips) without them.
TESTS += tests/conformance/run.sh
EXTRA_DIST += \
	tests/conformance/run.sh \
	tests/conformance/conformance.mjs \
	tests/conformance/package.json \
	tests/conformance/package-lock.json \
	tests/conformance/README.md
