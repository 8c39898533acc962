//! The loop: read a line, answer it, flush, until the input ends or the client stops listening.

use std::io::{self, BufRead, Write};

use serde::Serialize;
use serde_json::Value;

use crate::request::{self, Refused, Request};

/// The answer to one request: the command's JSON result, or its error object (`code`, `message`,
/// `path`, ...), as `--json` prints them.
pub type Reply = Result<Value, Value>;

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// The input ended: every request was answered.
    InputEnded,
    /// The client closed its end of the output: the request being answered had run, and no
    /// request after it was read.
    OutputClosed,
}

/// What a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    /// Requests answered (refused lines included).
    pub answered: u64,
    pub ended: Ended,
}

#[derive(Serialize)]
struct Response<'a> {
    id: &'a Value,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a Value>,
}

/// Answers each line of `input` with `handle`, in order, one response line each, flushed before the
/// next line is read. Blank lines are not requests and get no response. An error reading the
/// input, or writing the output other than a closed pipe, ends the batch with that error.
pub fn serve_with(
    mut input: impl BufRead,
    output: impl Write,
    mut handle: impl FnMut(Request) -> Reply,
) -> io::Result<Served> {
    let mut output = io::BufWriter::new(output);
    let mut line = Vec::new();
    let mut answered = 0;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(Served { answered, ended: Ended::InputEnded });
        }
        let request = trim_line_break(&line);
        if request.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let (id, reply) = match request::parse(request) {
            Ok(request) => {
                let id = request.id.clone();
                (id, handle(request))
            }
            Err(Refused { code, message, id }) => {
                (id, Err(serde_json::json!({ "code": code, "message": message })))
            }
        };
        let response = match &reply {
            Ok(result) => Response { id: &id, ok: true, result: Some(result), error: None },
            Err(error) => Response { id: &id, ok: false, result: None, error: Some(error) },
        };
        answered += 1;
        let written = serde_json::to_writer(&mut output, &response)
            .map_err(io::Error::from)
            .and_then(|()| output.write_all(b"\n"))
            .and_then(|()| output.flush());
        match written {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                return Ok(Served { answered, ended: Ended::OutputClosed });
            }
            Err(err) => return Err(err),
        }
    }
}

fn trim_line_break(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(input: &str) -> (Served, Vec<Value>) {
        let mut output = Vec::new();
        let served = serve_with(input.as_bytes(), &mut output, |request| {
            Ok(serde_json::json!({"op": format!("{:?}", request.op).split('(').next()}))
        })
        .expect("the batch runs");
        let lines = String::from_utf8(output).expect("responses are UTF-8");
        (
            served,
            lines.lines().map(|line| serde_json::from_str(line).expect("each response is JSON")).collect(),
        )
    }

    #[test]
    fn each_request_line_gets_one_response_in_order_and_blank_lines_none() {
        let (served, responses) = answers(
            "{\"id\": 1, \"op\": \"version\", \"path\": \"a\"}\n\n  \r\n{\"id\": 2, \"op\": \"version\", \"path\": \"b\"}\r\n",
        );
        assert_eq!(served, Served { answered: 2, ended: Ended::InputEnded });
        assert_eq!(responses.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(), [1, 2]);
        assert!(responses.iter().all(|r| r["ok"] == true && r.get("error").is_none()));
    }

    #[test]
    fn a_malformed_line_gets_an_error_response_and_the_batch_goes_on() {
        let (_, responses) = answers("not json\n{\"id\": 3, \"op\": \"version\", \"path\": \"b\"}");
        assert_eq!(responses[0]["ok"], false);
        assert_eq!(responses[0]["id"], Value::Null);
        assert_eq!(responses[0]["error"]["code"], "EMALFORMED");
        assert_eq!(responses[1]["id"], 3, "the last line needs no line break");
    }

    #[test]
    fn a_closed_output_ends_the_batch_without_reading_further() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
        }
        let mut handled = 0;
        let served =
            serve_with("{\"op\": \"version\", \"path\": \"a\"}\n".repeat(3).as_bytes(), Closed, |_| {
                handled += 1;
                Ok(Value::Null)
            })
            .expect("a closed output is not an error");
        assert_eq!((served.ended, handled), (Ended::OutputClosed, 1));
    }
}
