"""Importers: every seed's example request becomes crosspost's wire form, field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crosspost.core.convert import post_from_dict
from crosspost.core.errors import InvalidPost
from crosspost.plugins.tiktok.importers import detect_shape, import_request, import_with_notes

SEEDS = json.loads(Path(__file__).with_name("seed_requests.json").read_text(encoding="utf-8"))
CONSENT = {"content_preview_confirmed": True, "express_consent_given": True}
ALL_ON = {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "allow_duet": True, "allow_stitch": True}


@pytest.mark.parametrize(
    ("seed", "shape"),
    [
        ("socialsyncer_quickstart", "zernio"), ("socialsyncer_video_cover", "zernio"),
        ("socialsyncer_photo_carousel", "zernio"), ("socialsyncer_draft", "zernio"),
        ("zernio_photo_carousel", "zernio"), ("relayapi_quickstart", "crosspost"),
        ("relayapi_photo_carousel", "crosspost"), ("relayapi_ai_disclosure", "crosspost"),
        ("relayapi_draft", "crosspost"), ("postpost_video", "postpost"), ("postpost_private_video", "postpost"),
        ("late_node", "late"), ("late_python", "late"),
    ],
)
def test_detect_shape_recognises_each_seed(seed, shape):
    assert detect_shape(SEEDS[seed]) == shape


def test_detect_shape_unknown_and_import_returns_none():
    assert detect_shape({"text": "hi", "to": ["x"]}) == "unknown"
    assert import_request({"text": "hi"}) is None


@pytest.mark.parametrize("seed", [k for k in SEEDS if not k.startswith("_")])
def test_every_seed_example_imports_into_a_valid_crosspost_post(seed):
    post = post_from_dict(import_request(SEEDS[seed]))
    assert [str(t) for t in post.targets] == ["tiktok"]
    assert post.content == SEEDS[seed]["content"]


def test_socialsyncer_quickstart_maps_every_field():
    assert import_request(SEEDS["socialsyncer_quickstart"]) == {
        "content": "Check out this amazing sunset! #sunset #nature",
        "media": [{"type": "video", "url": "https://cdn.example.com/sunset-video.mp4"}],
        "targets": ["tiktok"],
        "scheduled_at": "now",
        "target_options": {"tiktok": {**ALL_ON, **CONSENT}},
    }


def test_socialsyncer_video_cover_keeps_the_timestamp():
    options = import_request(SEEDS["socialsyncer_video_cover"])["target_options"]["tiktok"]
    assert options == {**ALL_ON, "video_cover_timestamp_ms": 3000, **CONSENT}


def test_socialsyncer_photo_carousel_maps_every_field():
    assert import_request(SEEDS["socialsyncer_photo_carousel"]) == {
        "content": "My travel highlights",
        "media": [{"type": "image", "url": f"https://cdn.example.com/photo{i}.jpg"} for i in (1, 2, 3)],
        "targets": ["tiktok"],
        "scheduled_at": "now",
        "target_options": {"tiktok": {
            "privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "media_type": "photo",
            "photo_cover_index": 0, "description": "Full trip recap from our weekend adventure. #travel #roadtrip",
            "auto_add_music": True, **CONSENT}},
    }


def test_socialsyncer_draft_keeps_draft():
    options = import_request(SEEDS["socialsyncer_draft"])["target_options"]["tiktok"]
    assert options == {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "draft": True, **CONSENT}


def test_zernio_commercial_content_type_spelling_is_renamed():
    payload = {**SEEDS["socialsyncer_quickstart"],
               "tiktokSettings": {**ALL_ON, "commercialContentType": "brand_organic", "video_made_with_ai": True}}
    options = import_request(payload)["target_options"]["tiktok"]
    assert options["commercial_content_type"] == "brand_organic"
    assert "commercialContentType" not in options
    assert options["video_made_with_ai"] is True


@pytest.mark.parametrize("seed", ["relayapi_quickstart", "relayapi_photo_carousel", "relayapi_ai_disclosure",
                                  "relayapi_draft"])
def test_relayapi_shape_is_crosspost_shape_and_passes_unchanged(seed):
    result = import_with_notes(SEEDS[seed])
    assert result.shape == "crosspost"
    assert result.request == SEEDS[seed]
    assert result.notes == ()


@pytest.mark.parametrize(("seed", "tz", "title"), [
    ("late_node", "America/New_York", "How to build a social media app in 2026 🚀 #coding #developer #api"),
    ("late_python", "Europe/London", "Python + TikTok API = 🔥 #python #automation"),
])
def test_late_example_maps_platform_specific_settings_and_schedule(seed, tz, title):
    result = import_with_notes(SEEDS[seed])
    assert result.request == {
        "content": title,
        "media": [{"type": "video", "url": SEEDS[seed]["mediaItems"][0]["url"]}],
        "targets": ["tiktok"],
        "timezone": tz,
        "scheduled_at": "2026-03-15T14:00:00Z",
        "target_options": {"tiktok": ALL_ON},
    }
    assert any("acc_abc123" in note for note in result.notes)


@pytest.mark.parametrize(("seed", "privacy"), [("postpost_video", "PUBLIC_TO_EVERYONE"),
                                               ("postpost_private_video", "MUTUAL_FOLLOW_FRIENDS")])
def test_postpost_example_maps_camel_case_settings_as_written(seed, privacy):
    result = import_with_notes(SEEDS[seed])
    assert result.request == {
        "content": SEEDS[seed]["content"],
        "targets": ["tiktok"],
        "target_options": {"tiktok": {"privacy_level": privacy, "allow_comment": True, "allow_duet": False,
                                      "allow_stitch": False, "commercial_content_type": "none"}},
    }
    assert any("inverted" in note for note in result.notes)
    assert any("no media" in note for note in result.notes)


@pytest.mark.parametrize(
    ("organic", "branded", "kind"),
    [(True, False, "brand_organic"), (False, True, "brand_content"), (True, True, "both")],
)
def test_postpost_commercial_flags_become_commercial_content_type(organic, branded, kind):
    payload = {"content": "x", "platforms": ["tiktok-1"], "platformSettings": {"tiktok": {
        "viewerSetting": "PUBLIC_TO_EVERYONE", "commercialContent": True, "brandOrganic": organic,
        "brandedContent": branded}}}
    assert import_request(payload)["target_options"]["tiktok"]["commercial_content_type"] == kind


def test_postpost_commercial_content_without_a_type_is_refused_with_tiktoks_wording():
    payload = {"content": "x", "platforms": ["tiktok-1"],
               "platformSettings": {"tiktok": {"commercialContent": True}}}
    with pytest.raises(InvalidPost) as caught:
        import_request(payload)
    assert caught.value.problems[0].field == "platformSettings.tiktok.commercialContent"
    assert "promotes yourself" in caught.value.problems[0].message


def test_postpost_empty_viewer_setting_is_not_defaulted():
    payload = {"content": "x", "platforms": ["tiktok-1"], "platformSettings": {"tiktok": {"viewerSetting": ""}}}
    result = import_with_notes(payload)
    assert "target_options" not in result.request
    assert any("never defaults" in note for note in result.notes)


def test_account_map_names_the_crosspost_account():
    request = import_request(SEEDS["late_node"], account_map={"acc_abc123": "main"})
    assert request["targets"] == ["tiktok:main"]
    assert import_request(SEEDS["postpost_video"], account_map={"99887766": "brand"})["targets"] == ["tiktok:brand"]


def test_several_unmapped_tiktok_accounts_keep_their_ids_as_account_names():
    payload = {**SEEDS["socialsyncer_quickstart"],
               "platforms": [{"platform": "tiktok", "accountId": "a1"}, {"platform": "tiktok", "accountId": "b2"}]}
    result = import_with_notes(payload)
    assert result.request["targets"] == ["tiktok:a1", "tiktok:b2"]
    assert any("a1, b2" in note for note in result.notes)


def test_other_platforms_become_targets_and_their_settings_are_noted():
    payload = {**SEEDS["late_node"]}
    payload["platforms"] = [*payload["platforms"],
                            {"platform": "twitter", "accountId": "t1", "platformSpecificData": {"x": 1}}]
    result = import_with_notes(payload)
    assert result.request["targets"] == ["tiktok", "twitter"]
    assert any("settings for twitter were not imported" in note for note in result.notes)


def test_unknown_keys_are_problems_not_silently_dropped():
    payload = {**SEEDS["socialsyncer_quickstart"], "isDraft": True,
               "mediaItems": [{"type": "video", "url": "https://x.example/v.mp4", "thumbnail": "t"}]}
    with pytest.raises(InvalidPost) as caught:
        import_request(payload)
    fields = {p.field for p in caught.value.problems}
    assert fields == {"isDraft", "mediaItems[0].thumbnail"}
    assert "accepted: content, mediaItems" in caught.value.problems[0].message


def test_media_item_problems_are_all_reported():
    payload = {**SEEDS["socialsyncer_quickstart"], "mediaItems": [{"type": "gif", "url": ""}, "x"]}
    with pytest.raises(InvalidPost) as caught:
        import_request(payload)
    assert {p.field for p in caught.value.problems} == {"mediaItems[0].type", "mediaItems[0].url", "mediaItems[1]"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"publishNow": False}, "scheduledFor"),
        ({"scheduledFor": "2026-03-15T14:00:00Z"}, "publishNow"),
        ({"publishNow": "yes"}, "publishNow"),
    ],
)
def test_schedule_must_be_unambiguous(changes, field):
    payload = {**SEEDS["socialsyncer_quickstart"], **changes}
    with pytest.raises(InvalidPost) as caught:
        import_request(payload)
    assert [p.field for p in caught.value.problems] == [field]


def test_late_target_settings_override_top_level_settings_with_a_note():
    """Late's documented merge rule: root tiktokSettings go into every TikTok target, target values win."""
    payload = {**SEEDS["late_node"], "tiktokSettings": {"privacy_level": "SELF_ONLY", "draft": True}}
    result = import_with_notes(payload)
    assert result.request["target_options"]["tiktok"]["privacy_level"] == "PUBLIC_TO_EVERYONE"
    assert result.request["target_options"]["tiktok"]["draft"] is True
    assert any("privacy_level overrides tiktokSettings.privacy_level" in note for note in result.notes)
