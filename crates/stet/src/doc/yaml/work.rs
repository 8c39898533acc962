//! Counts of the work YAML reads and edits do, kept only in test builds, so that tests can prove
//! the work grows linearly with the document: a count is exact where a timing on a loaded machine
//! is not.

/// What has been done since the count was last reset (on this thread).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Work {
    /// Texts parsed into trees.
    pub parses: usize,
    /// Keys compared or hashed to find a key or to refuse a duplicate.
    pub key_probes: usize,
    /// Bytes written or moved to splice edits into the text.
    pub bytes_copied: usize,
}

#[cfg(test)]
thread_local! {
    static WORK: std::cell::Cell<Work> = const { std::cell::Cell::new(Work { parses: 0, key_probes: 0, bytes_copied: 0 }) };
}

/// Adds to the count (nothing outside test builds).
#[inline]
pub(crate) fn count(add: impl FnOnce(&mut Work)) {
    #[cfg(test)]
    WORK.with(|work| {
        let mut counted = work.get();
        add(&mut counted);
        work.set(counted);
    });
    #[cfg(not(test))]
    let _ = add;
}

/// Runs `run` and returns the work it did.
#[cfg(test)]
pub(crate) fn measure<T>(run: impl FnOnce() -> T) -> (T, Work) {
    WORK.with(|work| work.set(Work::default()));
    let result = run();
    (result, WORK.with(std::cell::Cell::get))
}
