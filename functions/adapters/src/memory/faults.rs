//! The failures a test has asked a twin to inject, per operation.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// Failures waiting to be injected: for each operation, a queue of one-off faults (taken
/// first, in order) and a fault for every call until cleared.
#[derive(Debug)]
pub(crate) struct Faults<K, F> {
    next: HashMap<K, VecDeque<F>>,
    every: HashMap<K, F>,
}

impl<K, F> Default for Faults<K, F> {
    fn default() -> Self {
        Self {
            next: HashMap::new(),
            every: HashMap::new(),
        }
    }
}

impl<K: Eq + Hash, F: Copy> Faults<K, F> {
    /// The next call of `operation` fails with `fault` (after the faults queued before it).
    pub(crate) fn push_next(&mut self, operation: K, fault: F) {
        self.next.entry(operation).or_default().push_back(fault);
    }

    /// Every call of `operation` fails with `fault` until cleared.
    pub(crate) fn set_every(&mut self, operation: K, fault: F) {
        self.every.insert(operation, fault);
    }

    /// Forgets every fault of `operation`, queued or standing.
    pub(crate) fn clear(&mut self, operation: &K) {
        self.next.remove(operation);
        self.every.remove(operation);
    }

    /// The fault this call of `operation` meets, if any: a queued one first, then a standing one.
    pub(crate) fn take(&mut self, operation: &K) -> Option<F> {
        self.next
            .get_mut(operation)
            .and_then(VecDeque::pop_front)
            .or_else(|| self.every.get(operation).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_faults_come_first_and_in_order_then_the_standing_one() {
        let mut faults = Faults::default();
        faults.set_every("op", 'e');
        faults.push_next("op", 'a');
        faults.push_next("op", 'b');
        let taken: Vec<_> = (0..4).map(|_| faults.take(&"op")).collect();
        assert_eq!(taken, [Some('a'), Some('b'), Some('e'), Some('e')]);
        assert_eq!(faults.take(&"other"), None);
    }

    #[test]
    fn clearing_an_operation_forgets_its_queued_and_standing_faults() {
        let mut faults = Faults::default();
        faults.set_every("op", 'e');
        faults.push_next("op", 'a');
        faults.push_next("other", 'o');
        faults.clear(&"op");
        assert_eq!(faults.take(&"op"), None);
        assert_eq!(faults.take(&"other"), Some('o'));
    }
}
