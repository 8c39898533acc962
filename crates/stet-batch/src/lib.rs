//! The stet batch protocol: many operations from one process, over a pipe, in the manner of
//! `git cat-file --batch`. Any front end that has a byte stream to a client (`stet batch` on
//! stdin/stdout, a socket, a test) serves it with [`serve`].
//!
//! # Guarantees
//!
//! - One response line per request line, in the order of the requests, each flushed before the
//!   next request is read; requests run one at a time, so a client may pipeline them.
//! - Each request has the guarantees of the command it names (atomic, durable, locked, leases
//!   honoured): it runs through [`stet::Project`], as the command line does, with the same error
//!   codes and result JSON.
//! - A line that is not a request gets an error response (`EMALFORMED` when it is not a JSON
//!   object, `EUSAGE` when it names an unknown op, field or version) and the batch goes on.
//! - When the client closes the output, the request being answered has already run to its end (it
//!   is never cut short halfway); nothing after it is read.
//!
//! # The format (version 1)
//!
//! A request is one JSON object on one line: `{"v": 1, "id": ANY, "op": "set", "path": "s.md",
//! "values": {"status": "done"}}`. `v` is optional; `id` is echoed back; `owner` and `timeout`
//! override the batch's `--owner` and `--timeout` for this request; every other field is an
//! argument of the op, named as its command-line flag (`if_version`, `must_exist`, `with_offsets`).
//! A response is `{"id", "ok": true, "result": ...}` or `{"id", "ok": false, "error": {"code",
//! "message", ...}}`. See [`request`] for each op's fields.

mod dispatch;
pub mod request;
mod serve;

use std::io::{self, BufRead, Write};

pub use dispatch::answer;
pub use serve::{Ended, Reply, Served, serve_with};

/// Answers every request of `input` with `project`, in order, on `output` (see the
/// [crate documentation](crate)). Returns at the end of the input, or when the client closes the
/// output; an error reading the input or writing the output is returned as it is.
pub fn serve(project: &stet::Project, input: impl BufRead, output: impl Write) -> io::Result<Served> {
    serve_with(input, output, |request| answer(project, request))
}
