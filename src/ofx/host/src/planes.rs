//! Natron custom plane strings (`ofxNatron.h`):
//! `NatronOfxImageComponentsPlaneName_<name>[_PlaneLabel_<label>][_ChannelsLabel_<label>]_Channel_<c1>[_Channel_<c2>…]`.

use crate::handles::{foundry, ofx};

const NAME: &str = ofx!(kNatronOfxImageComponentsPlaneName);
const LABEL: &str = ofx!(kNatronOfxImageComponentsPlaneLabel);
const CHANNELS_LABEL: &str = ofx!(kNatronOfxImageComponentsPlaneChannelsLabel);
const CHANNEL: &str = ofx!(kNatronOfxImageComponentsPlaneChannel);

/// A decoded Natron plane description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaneSpec {
    pub name: String,
    pub label: Option<String>,
    pub channels_label: Option<String>,
    pub channels: Vec<String>,
}

impl PlaneSpec {
    /// Decodes a plane string; `None` if it is not a Natron custom plane or has no channel.
    pub fn parse(s: &str) -> Option<PlaneSpec> {
        let rest = s.strip_prefix(NAME)?;
        let mut parts = rest.split(CHANNEL);
        let head = parts.next()?;
        let channels: Vec<String> = parts.map(str::to_owned).collect();
        if channels.is_empty() || channels.len() > 4 {
            return None;
        }
        let (head, channels_label) = match head.split_once(CHANNELS_LABEL) {
            Some((h, l)) => (h, Some(l.to_owned())),
            None => (head, None),
        };
        let (name, label) = match head.split_once(LABEL) {
            Some((n, l)) => (n.to_owned(), Some(l.to_owned())),
            None => (head.to_owned(), None),
        };
        Some(PlaneSpec { name, label, channels_label, channels })
    }

    /// Encodes back to the plane string.
    pub fn encode(&self) -> String {
        let mut s = format!("{NAME}{}", self.name);
        if let Some(l) = &self.label {
            s.push_str(LABEL);
            s.push_str(l);
        }
        if let Some(l) = &self.channels_label {
            s.push_str(CHANNELS_LABEL);
            s.push_str(l);
        }
        for c in &self.channels {
            s.push_str(CHANNEL);
            s.push_str(c);
        }
        s
    }

    /// A name usable in file names: the label if any, else the plane name.
    pub fn file_stem(&self) -> String {
        let raw = self.label.as_deref().unwrap_or(&self.name);
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
    }
}

/// True for the colour plane string.
pub fn is_colour(plane: &str) -> bool {
    plane == foundry::PLANE_COLOUR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_face_mask_plane() {
        let s = "NatronOfxImageComponentsPlaneName_FaceMask_PlaneLabel_FaceMask_Channel_A";
        let p = PlaneSpec::parse(s).unwrap();
        assert_eq!(p.name, "FaceMask");
        assert_eq!(p.label.as_deref(), Some("FaceMask"));
        assert_eq!(p.channels, vec!["A"]);
        assert_eq!(p.encode(), s);
        let q = PlaneSpec::parse("NatronOfxImageComponentsPlaneName_DisparityLeft_ChannelsLabel_Disparity_Channel_X_Channel_Y").unwrap();
        assert_eq!(q.channels_label.as_deref(), Some("Disparity"));
        assert_eq!(q.channels, vec!["X", "Y"]);
        assert!(PlaneSpec::parse("uk.co.thefoundry.OfxImagePlaneColour").is_none());
        assert!(PlaneSpec::parse("NatronOfxImageComponentsPlaneName_x").is_none());
    }
}
