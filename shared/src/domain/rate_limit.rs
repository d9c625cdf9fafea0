//! An organization's request budget: a quota of requests per fixed window.

/// `quota` requests per window of `window_seconds`, counted per organization. A fixed
/// window: its count starts again at each multiple of the window (Unix time), so a client
/// may spend two quotas within one window's length across a boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBudget {
    pub quota: u32,
    window_seconds: u32,
}

/// Where one request left its organization's budget: what the `RateLimit` header tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    /// The quota of the organization's window (its own, or the stack's).
    pub quota: u32,
    pub window_seconds: u32,
    /// Requests left in the window.
    pub remaining: u32,
    /// Seconds until the window ends (at least 1).
    pub reset_seconds: u32,
    /// Whether this request was over the quota (and so not served).
    pub over: bool,
}

impl RateBudget {
    /// `None` for a window of zero seconds.
    pub fn new(quota: u32, window_seconds: u32) -> Option<Self> {
        (window_seconds > 0).then_some(Self { quota, window_seconds })
    }

    /// The most of an organization's requests a function instance leases at once from its
    /// counter (see `store::rate_limits`): a tenth of the quota, at least 1 and at most 100. A
    /// tenth keeps a busy organization's counter to a few writes per window, and what one
    /// instance may hold unspent small beside the quota; 100 keeps an instance from sitting on
    /// much of a large organization's window.
    pub fn lease_size(quota: u32) -> u32 {
        (quota / 10).clamp(1, 100)
    }

    pub fn window_seconds(&self) -> u32 {
        self.window_seconds
    }

    /// The start (Unix seconds) of the window `now` falls in.
    pub fn window_start(&self, now: i64) -> i64 {
        now - now.rem_euclid(i64::from(self.window_seconds))
    }

    /// The state after a request at `now` that counted `used` of `quota` in its window, or
    /// found it spent (`used: None`).
    pub fn state(&self, now: i64, quota: u32, used: Option<u32>) -> RateState {
        let end = self.window_start(now) + i64::from(self.window_seconds);
        let reset_seconds = u32::try_from((end - now).max(1)).unwrap_or(self.window_seconds);
        RateState {
            quota,
            window_seconds: self.window_seconds,
            remaining: used.map_or(0, |used| quota.saturating_sub(used)),
            reset_seconds,
            over: used.is_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_start_at_multiples_of_their_length() {
        let budget = RateBudget::new(100, 2).unwrap();
        assert_eq!(budget.window_start(1_000_001), 1_000_000);
        assert_eq!(budget.window_start(1_000_000), 1_000_000);
        assert_eq!(budget.window_start(-1), -2);
        assert_eq!(RateBudget::new(1, 0), None);
    }

    #[test]
    fn a_lease_is_a_tenth_of_the_quota_within_one_and_a_hundred() {
        assert_eq!(
            [0, 1, 9, 10, 100, 999, 1_000, 1_000_000].map(RateBudget::lease_size),
            [1, 1, 1, 1, 10, 99, 100, 100]
        );
    }

    #[test]
    fn the_state_counts_down_and_resets_at_the_windows_end() {
        let budget = RateBudget::new(100, 10).unwrap();
        let state = budget.state(1_000_003, 100, Some(40));
        assert_eq!((state.remaining, state.reset_seconds, state.over), (60, 7, false));
        let spent = budget.state(1_000_009, 100, None);
        assert_eq!((spent.remaining, spent.reset_seconds, spent.over), (0, 1, true));
        // An operator's quota lowered below what the window already counted.
        assert_eq!(budget.state(1_000_000, 5, Some(9)).remaining, 0);
    }
}
