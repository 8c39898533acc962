//! How long parsing and editing a story's frontmatter takes, without any I/O.
//! Run: cargo run --release -p stet --example doc_cost

use std::time::Instant;

use stet::doc::{Document, Edit, Format};

fn main() {
    let story =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/story.md")).unwrap();
    let rounds = 20_000;
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(Document::parse(Format::Markdown, Some(story.as_bytes())).unwrap());
    }
    let parse = started.elapsed() / rounds;
    let document = Document::parse(Format::Markdown, Some(story.as_bytes())).unwrap();
    let edit = [Edit::set("priority", serde_json::json!(3)).unwrap()];
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(document.edited(&edit).unwrap());
    }
    let edited = started.elapsed() / rounds;
    println!("parse {parse:?}, edit {edited:?}");
}
