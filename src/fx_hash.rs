//! The hash maps of the detectors and readers: keys are small integers
//! (ids) and short tuples of them, hashed on every event of an analysis, so
//! the hasher is the multiply-and-rotate one rustc uses (FxHash), not std's
//! SipHash, which costs several times more per key and guards against
//! hash flooding that ids from a trace cannot mount usefully (a flood
//! slows one analysis; it cannot corrupt it).
//!
//! By hand rather than with the `rustc-hash` crate: the library's whole
//! dependency tree is held to the crates of the live checks (see README,
//! "A light library"), and this is twenty lines.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` hashed with [`FxHasher`].
pub(crate) type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A `HashSet` hashed with [`FxHasher`].
#[cfg(feature = "checks")]
pub(crate) type FxHashSet<T> = std::collections::HashSet<T, BuildHasherDefault<FxHasher>>;

/// FxHash: each word is added to the state, which is then multiplied by an
/// odd constant; `finish` rotates, so that the high bits the multiply mixes
/// best land where hashbrown takes its bucket index (the low bits) and its
/// control byte (the top seven).
#[derive(Clone, Copy, Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

/// The odd multiplier (from the `rustc-hash` 2 crate's analysis: a constant
/// with good avalanche over the low bits of small integer keys).
const K: u64 = 0xf135_7aea_2e62_a9c5;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = self.hash.wrapping_add(word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length tells "ab" from "ab\0" apart.
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::{BuildHasher, Hash};

    fn hash<T: Hash>(value: T) -> u64 {
        BuildHasherDefault::<FxHasher>::default().hash_one(value)
    }

    #[test]
    fn small_integers_spread_over_buckets_and_control_bytes() {
        // hashbrown takes the bucket from the low bits and a 7-bit tag from
        // the top: consecutive ids must differ in both.
        let mut buckets = HashSet::new();
        let mut tags = HashSet::new();
        for id in 0u64..1024 {
            let h = hash(id);
            buckets.insert(h & 1023);
            tags.insert(h >> 57);
        }
        assert!(buckets.len() > 600, "{} of 1024 buckets", buckets.len());
        assert!(tags.len() > 64, "{} of 128 tags", tags.len());
    }

    #[test]
    fn byte_strings_of_different_lengths_hash_apart() {
        assert_ne!(hash("ab"), hash("ab\0"));
        assert_ne!(hash(&b"abcdefgh"[..]), hash(&b"abcdefgh\0"[..]));
        let mut map = FxHashMap::default();
        map.insert("fork", 1);
        map.insert("knife", 2);
        assert_eq!(map["fork"], 1);
    }
}
