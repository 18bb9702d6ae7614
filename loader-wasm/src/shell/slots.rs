//! A small id-keyed table for the shell's handles. The shell holds a handful
//! of sockets, peers and fetches at a time: a Vec with linear search is as
//! fast as a tree at that size, and costs a fraction of BTreeMap's code in
//! the wasm (BTreeMap is instantiated anew for every value type).

pub(super) struct Slots<T>(Vec<(u32, T)>);

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots(Vec::new())
    }
}

impl<T> Slots<T> {
    fn index(&self, id: u32) -> Option<usize> {
        self.0.iter().position(|(k, _)| *k == id)
    }

    pub fn get(&self, id: u32) -> Option<&T> {
        self.index(id).map(|i| &self.0[i].1)
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        self.index(id).map(|i| &mut self.0[i].1)
    }

    pub fn contains(&self, id: u32) -> bool {
        self.index(id).is_some()
    }

    /// Adds `value` under `id`, replacing any previous one.
    pub fn insert(&mut self, id: u32, value: T) {
        self.remove(id);
        self.0.push((id, value));
    }

    pub fn remove(&mut self, id: u32) -> Option<T> {
        self.index(id).map(|i| self.0.swap_remove(i).1)
    }

    /// Removes and returns every entry.
    pub fn take_all(&mut self) -> Vec<(u32, T)> {
        std::mem::take(&mut self.0)
    }
}
