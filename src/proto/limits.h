/* limits.h: bounds shared by the server and the container runtime.
 * docs/limits.md explains what a client sees at each. */
#ifndef SL_PROTO_LIMITS_H
#define SL_PROTO_LIMITS_H

/* Output bytes one call may have in transit (yielded, not yet taken by the
 * client). Past it sl_yield blocks. It also bounds what the server buffers
 * per stream. */
#define SL_STREAM_WINDOW (256u * 1024u)

/* The server credits a call's output back in steps of at least this many
 * bytes, not per write: a stream of small, sparse events (the seed's 19
 * bytes every 0.5 s) then costs no CREDIT frame, and no wake-up of its
 * container, per event. So that no call waits for a credit the server is
 * still holding, a yield waits for window only while the call has at
 * least this much uncredited (the server holds less, so the rest is on
 * its way to the client and its credit will come); below it, a yield
 * goes out even past the window. A call then has at most
 * max(SL_STREAM_WINDOW, SL_CREDIT_STEP + its yield) bytes in transit. */
#define SL_CREDIT_STEP (SL_STREAM_WINDOW / 4)

/* The most header bytes (names and values) a request may carry; past it,
 * 431. Below h2o's own bounds, so that a client gets a reason: over
 * HTTP/1.1 h2o refuses more than 100 headers, or a head over about
 * 400 KiB, with a bare 400; over HTTP/2 it ends the connection when the
 * headers pass about 64 KiB. */
#define SL_MAX_HEADER_BYTES (32u * 1024u)

/* Defaults for a function's options (sluice.h documents them). */
#define SL_DEFAULT_MAX_INPUTS 100
#define SL_DEFAULT_MAX_CONTAINERS 100
#define SL_DEFAULT_SCALEDOWN_WINDOW 60.0
#define SL_DEFAULT_CONTENT_TYPE "text/plain; charset=utf-8"
#define SL_DEFAULT_METHOD "GET"

/* Stack of each input thread in a container. */
#define SL_INPUT_THREAD_STACK (512u * 1024u)

#endif
