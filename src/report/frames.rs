//! The frames a report shows of a finding's stacks. Which frames are the
//! user's is decided when the finding is made ([`crate::frames`], shared
//! with the detectors); a report leaves out the innermost one when it is
//! the site the report already names, so that what follows a site are its
//! callers.

use crate::finding::{Frame, SourceLocation};

pub use crate::frames::{user_frames, user_frames_of};

/// The frames above `site`: `frames` without its innermost when that one is
/// `site` itself (the function that locked, already shown). For an edge
/// taken in a helper, these are the helper's callers.
pub fn callers<'a>(frames: &'a [Frame], site: &SourceLocation) -> &'a [Frame] {
    let is_site = |fr: &Frame| {
        fr.location
            .as_ref()
            .is_some_and(|l| l.line == site.line && l.file.ends_with(&site.file))
    };
    let skip = usize::from(frames.first().is_some_and(is_site));
    &frames[skip..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, line: u32) -> Frame {
        Frame {
            function: function.to_owned(),
            location: Some(SourceLocation {
                file: "src/lib.rs".to_owned(),
                line,
                column: 9,
            }),
        }
    }

    #[test]
    fn the_site_itself_is_not_one_of_its_callers() {
        let site = SourceLocation {
            file: "src/lib.rs".to_owned(),
            line: 21,
            column: 41,
        };
        let frames = [frame("app::transfer", 21), frame("app::main", 40)];
        assert_eq!(callers(&frames, &site), &frames[1..]);
        assert_eq!(callers(&frames[1..], &site), &frames[1..]);
    }
}
