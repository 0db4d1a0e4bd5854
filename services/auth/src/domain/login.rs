//! Staff sign-in: how long a user waits after failed attempts.

use chrono::Duration;

/// The wait before the next attempt after `failures` failures in a row:
/// none at first, then doubling from a second, then the lockout.
pub fn failure_delay(
    failures: i32,
    before_delay: i32,
    lockout_after: i32,
    lockout_secs: i64,
) -> Option<Duration> {
    if failures >= lockout_after {
        Some(Duration::seconds(lockout_secs))
    } else if failures >= before_delay {
        Some(Duration::seconds(1i64 << (failures - before_delay).min(6)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_lock() {
        let d = |n| failure_delay(n, 3, 10, 900).map(|d| d.num_seconds());
        assert_eq!(d(2), None);
        assert_eq!(d(3), Some(1));
        assert_eq!(d(4), Some(2));
        assert_eq!(d(9), Some(64));
        assert_eq!(d(10), Some(900));
    }
}
