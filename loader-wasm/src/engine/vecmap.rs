//! Sorted-Vec map and set for the engine's small keyed tables. Same ordered
//! iteration as `BTreeMap`/`BTreeSet`, but in the wasm each instantiation is
//! a binary search and a `Vec` shift instead of a B-tree's insert, remove and
//! rebalance code (which `BTreeMap` brings anew for every key/value type).
//! The tables hold at most a few thousand entries, so shifting is cheap.

/// A map ordered by key.
pub struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Vec::new())
    }
}

impl<K: Ord, V> VecMap<K, V> {
    fn find(&self, key: &K) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.find(key).is_ok()
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.find(key).ok().map(|i| &mut self.0[i].1)
    }

    /// Adds `value` under `key`, replacing any previous value.
    pub fn insert(&mut self, key: K, value: V) {
        match self.find(&key) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    /// Forgets every entry with a key below `key`.
    pub fn remove_below(&mut self, key: &K) {
        let n = self.0.partition_point(|(k, _)| k < key);
        self.0.drain(..n);
    }

    /// The entries in key order, for binary searches on values that grow
    /// with the key.
    pub fn entries(&self) -> &[(K, V)] {
        &self.0
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The keys of the entries whose value matches `pred`, in order: for
    /// changing the map (or what else holds them) entry by entry.
    pub fn keys_where(&self, pred: impl Fn(&V) -> bool) -> Vec<K>
    where
        K: Copy,
    {
        let mut keys = Vec::new();
        for (k, v) in &self.0 {
            if pred(v) {
                keys.push(*k);
            }
        }
        keys
    }

    /// Every key, in order (see `keys_where`).
    pub fn key_list(&self) -> Vec<K>
    where
        K: Copy,
    {
        self.keys_where(|_| true)
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.0.iter_mut().map(|(_, v)| v)
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A set ordered by value.
pub struct VecSet<T>(Vec<T>);

impl<T> Default for VecSet<T> {
    fn default() -> Self {
        VecSet(Vec::new())
    }
}

impl<T: Ord> VecSet<T> {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, value: &T) -> bool {
        self.0.binary_search(value).is_ok()
    }

    /// Removes `removed` and adds `added` (both sorted ascending), then
    /// forgets the smallest values until at most `len` remain: one linear
    /// merge, where inserting one by one would shift the Vec per value.
    pub fn apply_sorted(&mut self, added: &[T], removed: &[T], len: usize)
    where
        T: Copy,
    {
        let old = std::mem::take(&mut self.0);
        let (mut i, mut j) = (0, 0);
        loop {
            let v = match (old.get(i), added.get(j)) {
                (Some(a), Some(b)) if b < a => {
                    j += 1;
                    *b
                }
                (Some(a), _) => {
                    i += 1;
                    if removed.binary_search(a).is_ok() {
                        continue;
                    }
                    *a
                }
                (None, Some(b)) => {
                    j += 1;
                    *b
                }
                (None, None) => break,
            };
            if self.0.last() != Some(&v) {
                self.0.push(v);
            }
        }
        let excess = self.0.len().saturating_sub(len);
        self.0.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_keys_sorted_and_replaces_values() {
        let mut m = VecMap::default();
        for k in [5, 1, 9, 3] {
            m.insert(k, k * 10);
        }
        m.insert(3, 33);
        assert_eq!(m.len(), 4);
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [1, 3, 5, 9]);
        assert_eq!(m.get(&3), Some(&33));
        assert_eq!(m.keys_where(|v| *v > 40), [5, 9]);
        assert_eq!(m.key_list(), [1, 3, 5, 9]);
        assert_eq!(m.keys().next_back(), Some(&9));
        assert_eq!(m.remove(&5), Some(50));
        assert_eq!(m.remove(&5), None);
        assert!(!m.contains_key(&5) && m.contains_key(&9));
        *m.get_mut(&1).unwrap() += 1;
        assert_eq!(m.values().copied().collect::<Vec<_>>(), [11, 33, 90]);
        m.remove_below(&4);
        assert_eq!(m.into_iter().collect::<Vec<_>>(), [(9, 90)]);
    }

    #[test]
    fn set_dedups_and_trims_the_smallest() {
        let mut s = VecSet::default();
        s.apply_sorted(&[2, 2, 4, 5, 5, 7, 9], &[], 10);
        s.apply_sorted(&[], &[9], 10);
        assert_eq!(s.len(), 4);
        assert!(s.contains(&4) && !s.contains(&9));
        s.apply_sorted(&[1, 5, 6, 6, 8], &[2, 7], 3);
        assert_eq!(s.0, [5, 6, 8], "merged, deduplicated, smallest dropped");
        s.apply_sorted(&[], &[5, 6, 8], 3);
        assert!(s.is_empty());
    }
}
