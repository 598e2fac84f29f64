//! The actions a host sends to `mainEntry`, as a typed enum.

use super::plane_suite::ACTION_GET_CLIP_COMPONENTS;
use super::text;
use ofx_sys as sys;

/// An OFX action by name. `Other` carries actions we do not handle (answered with ReplyDefault).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Load,
    Unload,
    Describe,
    DescribeInContext,
    CreateInstance,
    DestroyInstance,
    BeginInstanceChanged,
    InstanceChanged,
    EndInstanceChanged,
    GetClipPreferences,
    GetRegionOfDefinition,
    GetRegionsOfInterest,
    GetFramesNeeded,
    GetTimeDomain,
    IsIdentity,
    BeginSequenceRender,
    Render,
    EndSequenceRender,
    PurgeCaches,
    SyncPrivateData,
    /// Foundry/Natron multi-plane: which planes each clip needs and produces.
    GetClipComponents,
    Other(String),
}

impl Action {
    pub fn parse(name: &str) -> Action {
        let table: [(&'static [u8], Action); 20] = [
            (sys::kOfxActionLoad, Action::Load),
            (sys::kOfxActionUnload, Action::Unload),
            (sys::kOfxActionDescribe, Action::Describe),
            (sys::kOfxImageEffectActionDescribeInContext, Action::DescribeInContext),
            (sys::kOfxActionCreateInstance, Action::CreateInstance),
            (sys::kOfxActionDestroyInstance, Action::DestroyInstance),
            (sys::kOfxActionBeginInstanceChanged, Action::BeginInstanceChanged),
            (sys::kOfxActionInstanceChanged, Action::InstanceChanged),
            (sys::kOfxActionEndInstanceChanged, Action::EndInstanceChanged),
            (sys::kOfxImageEffectActionGetClipPreferences, Action::GetClipPreferences),
            (sys::kOfxImageEffectActionGetRegionOfDefinition, Action::GetRegionOfDefinition),
            (sys::kOfxImageEffectActionGetRegionsOfInterest, Action::GetRegionsOfInterest),
            (sys::kOfxImageEffectActionGetFramesNeeded, Action::GetFramesNeeded),
            (sys::kOfxImageEffectActionGetTimeDomain, Action::GetTimeDomain),
            (sys::kOfxImageEffectActionIsIdentity, Action::IsIdentity),
            (sys::kOfxImageEffectActionBeginSequenceRender, Action::BeginSequenceRender),
            (sys::kOfxImageEffectActionRender, Action::Render),
            (sys::kOfxImageEffectActionEndSequenceRender, Action::EndSequenceRender),
            (sys::kOfxActionPurgeCaches, Action::PurgeCaches),
            (sys::kOfxActionSyncPrivateData, Action::SyncPrivateData),
        ];
        if name == text(ACTION_GET_CLIP_COMPONENTS) {
            return Action::GetClipComponents;
        }
        table.into_iter().find(|(n, _)| text(n) == name).map(|(_, a)| a).unwrap_or_else(|| Action::Other(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_and_unknown_actions() {
        assert_eq!(Action::parse("OfxActionLoad"), Action::Load);
        assert_eq!(Action::parse("OfxImageEffectActionRender"), Action::Render);
        assert_eq!(Action::parse("uk.co.thefoundry.OfxImageEffectActionGetClipComponents"), Action::GetClipComponents);
        assert_eq!(Action::parse("OfxActionSomethingNew"), Action::Other("OfxActionSomethingNew".into()));
    }
}
