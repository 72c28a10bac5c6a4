//! `Debug` and `Display` of the locks and guards, as parking_lot prints
//! them, written once.

use std::fmt;

/// A lock's `Debug`: its type name, its name if it has one, and its value
/// if it could be reached without waiting (`<locked>` otherwise), as
/// parking_lot's, which tries the raw lock (no hold to check).
pub(crate) fn debug_lock<T: ?Sized + fmt::Debug>(
    f: &mut fmt::Formatter<'_>,
    type_name: &str,
    name: Option<&'static str>,
    data: Option<&T>,
) -> fmt::Result {
    let mut d = f.debug_struct(type_name);
    if let Some(name) = name {
        d.field("name", &name);
    }
    match data {
        Some(v) => d.field("data", &v),
        None => d.field("data", &format_args!("<locked>")),
    };
    d.finish()
}

/// `Debug` and `Display` of guards, through their value (`Deref`), as
/// lock_api's: `guard_fmt!(impl[R: Bound] for Guard<'_, R, T>)`; every
/// guard is generic over its value type `T`.
macro_rules! guard_fmt {
    (impl[$($g:tt)*] for $ty:ty) => {
        impl<$($g)* T: ?Sized + ::std::fmt::Debug> ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($g)* T: ?Sized + ::std::fmt::Display> ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&**self, f)
            }
        }
    };
}

pub(crate) use guard_fmt;
