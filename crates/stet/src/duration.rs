//! Durations as users write them: `250ms`, `5s`, `1.5s`, `2m`, `1h`, `0`, `inf`.

use std::time::Duration;

/// A duration that may be infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// This long.
    Finite(Duration),
    /// Forever.
    Infinite,
}

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: write a number with a unit (250ms, 5s, 2m, 1h), 0, or inf")]
pub struct ParseError {
    /// What was given.
    pub input: String,
}

/// Parses a duration.
pub fn parse(input: &str) -> Result<Span, ParseError> {
    let error = || ParseError { input: input.to_owned() };
    let text = input.trim();
    match text {
        "inf" | "infinity" | "forever" => return Ok(Span::Infinite),
        "0" => return Ok(Span::Finite(Duration::ZERO)),
        _ => {}
    }
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(error)?;
    let (number, unit) = text.split_at(split);
    let seconds_per_unit: u32 = match unit {
        "ms" => 0,
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(error()),
    };
    // Whole numbers are exact, however large; longer than a `Duration` can count (hundreds of
    // billions of years) is forever.
    if let Ok(whole) = number.parse::<u64>() {
        return Ok(match seconds_per_unit {
            0 => Span::Finite(Duration::from_millis(whole)),
            per => whole
                .checked_mul(u64::from(per))
                .map_or(Span::Infinite, |secs| Span::Finite(Duration::from_secs(secs))),
        });
    }
    let number: f64 = number.parse().map_err(|_| error())?;
    let seconds = if seconds_per_unit == 0 { number / 1000.0 } else { number * f64::from(seconds_per_unit) };
    if seconds.is_infinite() || seconds >= Duration::MAX.as_secs_f64() {
        return Ok(Span::Infinite);
    }
    Duration::try_from_secs_f64(seconds).map(Span::Finite).map_err(|_| error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form_parses_and_nonsense_does_not() {
        assert_eq!(parse("250ms"), Ok(Span::Finite(Duration::from_millis(250))));
        assert_eq!(parse("5s"), Ok(Span::Finite(Duration::from_secs(5))));
        assert_eq!(parse("1.5s"), Ok(Span::Finite(Duration::from_millis(1500))));
        assert_eq!(parse("2m"), Ok(Span::Finite(Duration::from_secs(120))));
        assert_eq!(parse("1h"), Ok(Span::Finite(Duration::from_secs(3600))));
        assert_eq!(parse("0"), Ok(Span::Finite(Duration::ZERO)));
        assert_eq!(parse("inf"), Ok(Span::Infinite));
        assert_eq!(
            parse(&format!("{}s", "9".repeat(400))),
            Ok(Span::Infinite),
            "too long to count is forever"
        );
        assert_eq!(
            parse("9223372036854775807s"),
            Ok(Span::Finite(Duration::from_secs(9_223_372_036_854_775_807)))
        );
        for bad in ["", "5", "s", "5 parsecs", "-1s", "1e3s", "5sec"] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
