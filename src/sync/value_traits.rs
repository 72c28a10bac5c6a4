//! The traits every lock implements by its `new`, written once.

/// `From<T>` and `Default` of a lock, by its `new` (so both record the
/// caller as the creation site): `value_traits!(impl[R: Bound] for
/// Lock<R, T>)`; every lock is generic over its value type `T`.
macro_rules! value_traits {
    (impl[$($g:tt)*] for $ty:ty) => {
        impl<$($g)* T> From<T> for $ty {
            #[track_caller]
            fn from(value: T) -> Self {
                Self::new(value)
            }
        }

        impl<$($g)* T: Default> Default for $ty {
            #[track_caller]
            fn default() -> Self {
                Self::new(T::default())
            }
        }
    };
}

pub(crate) use value_traits;
