//! Lines of a log file read through the seam: the last valid line, one line at an offset, and
//! forward scans, all without loading the log into memory.

use std::fs::File;
use std::io;

use serde_json::Value;

use crate::fs::Fs;

/// How much is read at a time.
const CHUNK: usize = 64 * 1024;

/// Whether a complete line (without its `\n`) is one JSON value, checked without building it.
pub(crate) fn is_valid(line: &[u8]) -> bool {
    !line.iter().all(u8::is_ascii_whitespace) && serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
}

/// The JSON value a complete line (without its `\n`) holds, if it is one.
pub(crate) fn parse(line: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(line).ok()?;
    if text.trim().is_empty() {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// The end of the last complete line at or before `len` (just after its `\n`; 0 when there is
/// none). What follows is the torn tail: an unterminated fragment, NUL bytes or garbage that a
/// crash left after the last line break, which no reader has ever been shown. A complete line,
/// valid or not, is never part of it.
pub(crate) fn complete_end(fs: &dyn Fs, file: &File, len: u64) -> io::Result<u64> {
    Ok(rfind_newline(fs, file, len)?.map_or(0, |newline| newline + 1))
}

/// Whether a complete line before `end` (a line end) is an event. Looked for from the end, so
/// a log pays for its last line only.
pub(crate) fn holds_an_event(fs: &dyn Fs, file: &File, end: u64) -> io::Result<bool> {
    let mut end = end;
    while end > 0 {
        let newline = end - 1;
        let start = rfind_newline(fs, file, newline)?.map_or(0, |before| before + 1);
        if is_valid(&read_range(fs, file, start, newline)?) {
            return Ok(true);
        }
        end = start;
    }
    Ok(false)
}

/// Whether a file of `len` bytes that holds no event (complete lines before `end`) is what a crash
/// during its first append leaves rather than prose: nothing but spaces and NUL bytes, or a
/// single unterminated line that starts like a JSON object or array.
pub(crate) fn looks_torn(fs: &dyn Fs, file: &File, end: u64, len: u64) -> io::Result<bool> {
    let mut at = 0;
    let mut buf = vec![0u8; CHUNK];
    while at < len {
        let want = ((len - at) as usize).min(buf.len());
        let read = fs.read_at(file, &mut buf[..want], at)?;
        if read == 0 {
            break;
        }
        if let Some(byte) = buf[..read].iter().find(|byte| !byte.is_ascii_whitespace() && **byte != 0) {
            return Ok(end == 0 && matches!(byte, b'{' | b'['));
        }
        at += read as u64;
    }
    Ok(true)
}

/// The start of the line holding the byte at `at`.
pub(crate) fn line_start_before(fs: &dyn Fs, file: &File, at: u64) -> io::Result<u64> {
    Ok(rfind_newline(fs, file, at)?.map_or(0, |newline| newline + 1))
}

/// The offset of the last `\n` before `end`. Reads backwards in chunks that start small (a
/// line is usually short) and double.
fn rfind_newline(fs: &dyn Fs, file: &File, end: u64) -> io::Result<Option<u64>> {
    let mut end = end;
    let mut size = 512;
    let mut buf = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(size as u64);
        buf.resize((end - start) as usize, 0);
        read_exact_at(fs, file, &mut buf, start)?;
        if let Some(at) = buf.iter().rposition(|byte| *byte == b'\n') {
            return Ok(Some(start + at as u64));
        }
        end = start;
        size = (size * 2).min(CHUNK);
    }
    Ok(None)
}

/// The bytes of `[start, end)`.
pub(crate) fn read_range(fs: &dyn Fs, file: &File, start: u64, end: u64) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; (end - start) as usize];
    read_exact_at(fs, file, &mut bytes, start)?;
    Ok(bytes)
}

fn read_exact_at(fs: &dyn Fs, file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match fs.read_at(file, buf, offset)? {
            0 => {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the log is shorter than expected"));
            }
            read => {
                buf = &mut buf[read..];
                offset += read as u64;
            }
        }
    }
    Ok(())
}

/// The complete line starting at `offset` (without its `\n`), if there is one before `end`.
pub(crate) fn line_at(fs: &dyn Fs, file: &File, offset: u64, end: u64) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let mut at = offset;
    let mut buf = vec![0u8; 4096];
    while at < end {
        let want = ((end - at) as usize).min(buf.len());
        let read = fs.read_at(file, &mut buf[..want], at)?;
        if read == 0 {
            return Ok(None);
        }
        if let Some(newline) = buf[..read].iter().position(|byte| *byte == b'\n') {
            line.extend_from_slice(&buf[..newline]);
            return Ok(Some(line));
        }
        line.extend_from_slice(&buf[..read]);
        at += read as u64;
    }
    Ok(None)
}

/// Calls `each(offset, line)` for every complete line in `[start, end)`, in order.
pub(crate) fn scan(
    fs: &dyn Fs,
    file: &File,
    start: u64,
    end: u64,
    mut each: impl FnMut(u64, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut pending: Vec<u8> = Vec::new();
    let mut line_start = start;
    let mut at = start;
    let mut buf = vec![0u8; CHUNK];
    while at < end {
        let want = ((end - at) as usize).min(buf.len());
        let read = fs.read_at(file, &mut buf[..want], at)?;
        if read == 0 {
            break;
        }
        let mut from = 0;
        while let Some(newline) = buf[from..read].iter().position(|byte| *byte == b'\n') {
            let line_end = from + newline;
            if pending.is_empty() {
                each(line_start, &buf[from..line_end])?;
            } else {
                pending.extend_from_slice(&buf[from..line_end]);
                each(line_start, &pending)?;
                pending.clear();
            }
            line_start = at + line_end as u64 + 1;
            from = line_end + 1;
        }
        pending.extend_from_slice(&buf[from..read]);
        at += read as u64;
    }
    Ok(())
}
