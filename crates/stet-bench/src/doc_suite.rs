//! The document tables: a locked frontmatter edit of a 1.5 KB story and of one with a 1 MB body,
//! and what each peer does to the story's formatting.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::process::Command;

use crate::doc::{STORY, big_story, counter};
use crate::harness::{CommandFor, Contestant, Shape, Suite, Tools, invoke};

pub(crate) fn doc_suites(tools: &Tools, scale: usize) -> Vec<Suite> {
    let small = Suite {
        title: "Locked, durable frontmatter edit of a 1.5 KB story (in a loop: increment `counter`; a process per operation: set it)".into(),
        extension: "md",
        initial: STORY.into(),
        count: counter,
        contestants: contestants(tools, scale, 1, true),
    };
    let big = Suite {
        title: "The same edit of a story with a 1 MB body (in a loop: increment `counter`)".into(),
        extension: "md",
        initial: big_story(),
        count: counter,
        contestants: contestants(tools, scale, 10, false),
    };
    let package = Suite {
        title: "The same edit of a 20 KB `package.json` (in a loop: increment `counter`; a process per operation: set it)".into(),
        extension: "json",
        initial: package_json(),
        count: counter,
        contestants: json_contestants(tools, scale),
    };
    let tsconfig = Suite {
        title: "The same edit of a 20 KB `tsconfig.json` with comments and trailing commas (JSONC)".into(),
        extension: "json",
        initial: tsconfig_json(),
        count: counter,
        contestants: json_contestants(tools, scale),
    };
    let mut suites = vec![small, big, package, tsconfig];
    suites.extend(yaml_get_suites(tools, scale));
    suites
}

/// The floor and stet on a JSON document: the peers' frontmatter tools do not edit JSON.
fn json_contestants(tools: &Tools, scale: usize) -> Vec<Contestant> {
    let mut contestants = contestants(tools, scale, 1, true);
    contestants
        .retain(|contestant| contestant.name.starts_with("floor") || contestant.name.starts_with("stet"));
    contestants
}

/// A `package.json` of about 20 KB, as a monorepo's root keeps one, with a `counter` key among
/// its top-level keys.
pub(crate) fn package_json() -> String {
    let mut text = String::from(
        "{\n  \"name\": \"@acme/workspace\",\n  \"version\": \"4.12.0\",\n  \"private\": true,\n  \"counter\": 0,\n  \"description\": \"Tools, services and the web app, built together\",\n  \"keywords\": [\"monorepo\", \"tools\", \"web\"],\n  \"workspaces\": [\"packages/*\", \"apps/*\"],\n  \"scripts\": {\n",
    );
    let scripts: Vec<String> = (0..60)
        .map(|at| format!("    \"task:{at:02}\": \"turbo run build --filter=./packages/part-{at:02} && node scripts/check.js\""))
        .collect();
    text.push_str(&scripts.join(",\n"));
    for section in ["dependencies", "devDependencies", "peerDependencies"] {
        let _ = write!(text, "\n  }},\n  \"{section}\": {{\n");
        let entries: Vec<String> = (0..120)
            .map(|at| {
                format!("    \"@acme/{section}-module-{at:03}\": \"^{}.{}.{}\"", at % 9 + 1, at % 17, at % 5)
            })
            .collect();
        text.push_str(&entries.join(",\n"));
    }
    text.push_str(
        "\n  },\n  \"engines\": {\"node\": \">=20\", \"npm\": \">=10\"},\n  \"license\": \"MIT\"\n}\n",
    );
    text
}

/// A `tsconfig.json` of about 20 KB: JSONC, with comment lines, comments beside values and
/// trailing commas, a top-level `counter` key.
pub(crate) fn tsconfig_json() -> String {
    let mut text = String::from(
        "// The compiler settings shared by every package.\n{\n  \"$schema\": \"https://json.schemastore.org/tsconfig\",\n  // bumped by the benchmark\n  \"counter\": 0,\n  \"compilerOptions\": {\n    /* Language and environment */\n    \"target\": \"es2022\", // keep in step with the oldest supported runtime\n    \"strict\": true,\n    \"paths\": {\n",
    );
    for at in 0..120 {
        let _ = writeln!(
            text,
            "      // the sources of part {at}\n      \"@acme/part-{at:03}/*\": [\"packages/part-{at:03}/src/*\", \"packages/part-{at:03}/types/*\",],"
        );
    }
    text.push_str("    },\n  },\n  \"references\": [\n");
    for at in 0..100 {
        let _ = writeln!(text, "    {{\"path\": \"./packages/part-{at:03}\"}}, /* built before the apps */");
    }
    text.push_str("  ],\n  \"include\": [\"packages/*/src\", \"apps/*/src\",],\n}\n");
    text
}

/// `get` of generated YAML documents of 10k and 40k keys, a process per read: the read must be
/// linear in the document (the second takes about four times the first) and well under 50 ms.
fn yaml_get_suites(tools: &Tools, scale: usize) -> Vec<Suite> {
    [10_000, 40_000]
        .into_iter()
        .map(|keys| {
            let stet = tools.stet.clone();
            // What any reader pays: a process that reads the file and prints it.
            let floor = Contestant {
                name: "floor: a process per read that prints the file (`cat F`)",
                shape: Shape::ProcessPerOp,
                ops: [200, 50].map(|n: usize| (n / scale).max(2)),
                command: Box::new(|file: &Path, _| {
                    let mut command = Command::new("cat");
                    command.arg(file);
                    command
                }),
                increments: false,
            };
            let get = Contestant {
                name: "stet CLI per read (`stet get F k0`)",
                shape: Shape::ProcessPerOp,
                ops: [200, 50].map(|n: usize| (n / scale).max(2)),
                command: Box::new(move |file: &Path, _| {
                    let mut command = Command::new(&stet);
                    command.arg("get").arg(file).arg("k0");
                    command
                }),
                increments: false,
            };
            Suite {
                title: format!(
                    "`get` of a generated {keys}-key YAML document ({} KB; ms per read = 1000 / ops/s)",
                    yaml_document(keys).len() / 1000
                ),
                extension: "yaml",
                initial: yaml_document(keys),
                count: |_| None,
                contestants: vec![floor, get],
            }
        })
        .collect()
}

/// A YAML document of `keys` top-level keys in the styles real files use: plain, quoted and
/// block scalars, flow lists, and nested mappings of three keys every tenth key.
fn yaml_document(keys: usize) -> String {
    let mut text = String::from("# generated for the benchmark\n");
    for at in 0..keys {
        let _ = match at % 10 {
            0 => writeln!(text, "k{at}:\n  name: entry {at}\n  tags: [a, b, c]\n  enabled: true"),
            3 => writeln!(text, "k{at}: \"quoted value {at}\"  # a comment"),
            6 => writeln!(text, "k{at}: |\n  line one of {at}\n  line two"),
            _ => writeln!(text, "k{at}: {at}"),
        };
    }
    text
}

fn contestants(tools: &Tools, scale: usize, fewer: usize, per_process: bool) -> Vec<Contestant> {
    let bench = tools.bench.as_path();
    let worker = |kind: &str| invoke(bench, &[OsStr::new("worker"), OsStr::new(kind)], true, &[]);
    let node_script = tools.scripts.join("node-doc-worker.js");
    let python_script = tools.scripts.join("python-doc-worker.py");
    let modules = tools.node_modules.clone();
    let node_loop = invoke(Path::new("node"), &[node_script.as_os_str()], true, &[]);
    let node: CommandFor = Box::new(move |file, ops| {
        let mut command = node_loop(file, ops);
        command.env("NODE_PATH", &modules);
        command
    });
    let python = invoke(Path::new("python3"), &[python_script.as_os_str()], true, &[]);
    let looped = |name, ops: [usize; 2], command| Contestant {
        name,
        shape: Shape::Loop,
        ops: ops.map(|n| (n / scale / fewer).max(4)),
        command,
        increments: true,
    };
    let mut contestants = vec![
        looped(
            "floor: bare syscalls (flock, read, replace the digits, temp, fsync, rename, fsync dir)",
            [2000, 500],
            worker("doc-floor"),
        ),
        looped("stet library (`stet::doc::edit_value`)", [2000, 500], worker("doc-lib")),
        looped(
            "stet library, lock file kept open (`stet::doc::Editor`)",
            [2000, 500],
            worker("doc-lib-kept"),
        ),
        looped("Node: proper-lockfile + gray-matter + write-file-atomic", [600, 150], node),
        looped("Python: filelock + python-frontmatter + os.replace", [1200, 300], python),
    ];
    if per_process {
        contestants.extend(per_op_contestants(tools, scale));
    }
    contestants
}

/// Each process sets `counter` to a fresh random value: an edit that always changes the file.
fn per_op_contestants(tools: &Tools, scale: usize) -> Vec<Contestant> {
    let per_op = |name, ops: [usize; 2], command| Contestant {
        name,
        shape: Shape::ProcessPerOp,
        ops: ops.map(|n| (n / scale).max(2)),
        command,
        increments: false,
    };
    let bench = tools.bench.clone();
    let stet = tools.stet.clone();
    let (node_script, python_script) =
        (tools.scripts.join("node-doc-worker.js"), tools.scripts.join("python-doc-worker.py"));
    let modules = tools.node_modules.clone();
    let value = || fastrand::u32(..).to_string();
    vec![
        per_op(
            "floor, a process per operation",
            [400, 100],
            Box::new(move |file: &Path, _| {
                let mut command = Command::new(&bench);
                command.arg("doc-once").arg(file).arg(value());
                command
            }),
        ),
        per_op(
            "stet CLI per operation (`stet set F counter=N`)",
            [400, 100],
            Box::new(move |file: &Path, _| {
                let mut command = Command::new(&stet);
                command.args(["--timeout", "inf", "set"]).arg(file).arg(format!("counter={}", value()));
                command
            }),
        ),
        per_op(
            "Node, a process per operation",
            [16, 4],
            Box::new(move |file: &Path, _| {
                let mut command = Command::new("node");
                command
                    .arg(&node_script)
                    .arg(file)
                    .args(["--set", "counter", &value()])
                    .env("NODE_PATH", &modules);
                command
            }),
        ),
        per_op(
            "Python, a process per operation",
            [16, 4],
            Box::new(move |file: &Path, _| {
                let mut command = Command::new("python3");
                command.arg(&python_script).arg(file).args(["--set", "counter", &value()]);
                command
            }),
        ),
    ]
}

/// What each tool does to the story when it sets `status: done`: the lines it changed, and the
/// diff.
pub(crate) fn formatting(tools: &Tools, dir: &Path) -> io::Result<String> {
    let original = dir.join("original.md");
    std::fs::write(&original, STORY)?;
    let mut out = String::from("Formatting kept by one edit (`status: done`) of the 1.5 KB story:\n\n");
    let mut diffs = String::new();
    let edits: [(&str, Command); 3] = [
        ("stet", {
            let mut command = Command::new(&tools.stet);
            command.args(["set", "story.md", "status=done"]);
            command
        }),
        ("Node gray-matter", {
            let mut command = Command::new("node");
            command
                .arg(tools.scripts.join("node-doc-worker.js"))
                .args(["story.md", "--set", "status", "done"]);
            command.env("NODE_PATH", &tools.node_modules);
            command
        }),
        ("Python python-frontmatter", {
            let mut command = Command::new("python3");
            command
                .arg(tools.scripts.join("python-doc-worker.py"))
                .args(["story.md", "--set", "status", "done"]);
            command
        }),
    ];
    for (index, (name, mut command)) in edits.into_iter().enumerate() {
        let work = dir.join(format!("format-{index}"));
        std::fs::create_dir_all(&work)?;
        std::fs::write(work.join("story.md"), STORY)?;
        let status = command.current_dir(&work).stdout(std::process::Stdio::null()).status()?;
        if !status.success() {
            return Err(io::Error::other(format!("{name} failed to edit the story")));
        }
        let diff = Command::new("diff").arg("-u").arg(&original).arg(work.join("story.md")).output()?;
        let diff = String::from_utf8_lossy(&diff.stdout).into_owned();
        let changed = diff
            .lines()
            .filter(|line| {
                (line.starts_with('-') || line.starts_with('+'))
                    && !line.starts_with("---")
                    && !line.starts_with("+++")
            })
            .count();
        let _ = writeln!(out, "- {name}: {changed} changed lines (removed + added)");
        let _ = write!(diffs, "\n{name}:\n\n```diff\n");
        for line in diff.lines().skip(2) {
            let _ = writeln!(diffs, "{line}");
        }
        diffs.push_str("```\n");
    }
    out.push_str(&diffs);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use stet::doc::{Document, Format};

    use super::{package_json, tsconfig_json};
    use crate::doc::counter;

    #[test]
    fn the_json_documents_are_20_kb_hold_a_counter_and_read_as_json() {
        for (name, text) in [("package.json", package_json()), ("tsconfig.json", tsconfig_json())] {
            assert!((18_000..24_000).contains(&text.len()), "{name} is {} bytes", text.len());
            assert_eq!(counter(&text), Some(0), "{name}");
            let document = Document::parse(Format::Json, Some(text.as_bytes())).expect(name);
            assert_eq!(document.value()["counter"], 0, "{name}: the workers bump a top-level `counter`");
        }
        assert!(tsconfig_json().contains("// ") && tsconfig_json().contains(",]"), "tsconfig is JSONC");
    }
}
