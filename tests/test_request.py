from __future__ import annotations

import numpy as np
import pytest

from inpaint_studio.core.errors import ValidationError
from inpaint_studio.core.pipeline.params import check
from inpaint_studio.core.pipeline.request import (
    ColorPalette,
    EditRequest,
    PaletteMember,
    RenderingSpeed,
    StyleType,
    style_presets,
    validate,
)
from inpaint_studio.core.pixels.imaging import ReferenceImage, load_image, load_reference
from inpaint_studio.providers import IdeogramProvider, LocalProvider

from .conftest import ellipse_mask


@pytest.fixture
def request_(data_dir):
    photo = load_image(data_dir / "chelsea.png")
    mask = ellipse_mask(300, 451, 150, 220, 40, 60)
    return EditRequest(prompt="a red scarf", photo=photo, mask=mask)


def fields(problems):
    return [p.field for p in problems]


def test_presets_are_the_62_names_from_resources():
    names = style_presets()
    assert len(names) == 62 and len(set(names)) == 62
    assert "WATERCOLOR" in names and "80S_ILLUSTRATION" in names


def test_valid_request_has_no_problems(request_):
    assert validate(request_) == []
    assert request_.rendering_speed is RenderingSpeed.DEFAULT


def test_empty_prompt_and_empty_mask(request_):
    from dataclasses import replace

    r = replace(request_, prompt="  ", mask=np.zeros_like(request_.mask))
    problems = validate(r)
    assert fields(problems) == ["prompt", "mask"]
    assert validate(r, prompt_required=False)[0].field == "mask"
    with pytest.raises(ValidationError) as exc:
        check(r)
    assert "prompt is empty" in str(exc.value) and "mask is empty" in str(exc.value)


def test_unknown_preset(request_):
    from dataclasses import replace

    problems = validate(replace(request_, style_preset="NOT_A_STYLE"))
    assert fields(problems) == ["style_preset"]
    assert "“NOT_A_STYLE” is not an Ideogram 3.0 style preset." == problems[0].message


def test_flash_with_character_reference(request_, data_dir):
    from dataclasses import replace

    ref = load_reference(data_dir / "astronaut.png")
    problems = validate(
        replace(request_, rendering_speed=RenderingSpeed.FLASH, character_references=(ref,))
    )
    assert fields(problems) == ["character_references"]
    assert "FLASH" in problems[0].message


def test_style_rules(request_, data_dir):
    from dataclasses import replace

    ref = load_reference(data_dir / "rocket.jpg")
    r = replace(
        request_,
        style_codes=("AB12CD34", "xyz"),
        style_type=StyleType.REALISTIC,
        style_references=(ref,),
    )
    msgs = [p.message for p in validate(r)]
    assert any("style type" in m and "Style codes" in m for m in msgs)
    assert any("style reference images" in m and "Style codes" in m for m in msgs)
    assert any("“xyz” is not a style code" in m for m in msgs)
    assert any("Style reference images need style type AUTO or GENERAL" in m for m in msgs)
    r2 = replace(
        request_, style_preset="WATERCOLOR", style_references=(ref,), style_type=StyleType.DESIGN
    )
    f2 = fields(validate(r2))
    assert f2.count("style_preset") == 2 and "style_references" in f2
    r3 = replace(request_, character_references=(ref, ref), style_type=StyleType.DESIGN)
    m3 = [p.message for p in validate(r3)]
    assert "Only one character reference image can be used." in m3
    assert any("AUTO, REALISTIC or FICTION" in m for m in m3)


def test_references_over_10mb_in_total(request_):
    from dataclasses import replace

    big = ReferenceImage("big.png", b"\0" * 5_100_000, "PNG")
    problems = validate(replace(request_, style_references=(big, big)))
    assert fields(problems) == ["style_references"] and "10 MB" in problems[0].message


def test_palette_rules(request_):
    from dataclasses import replace

    ok = ColorPalette(members=(PaletteMember("#abc", 0.8), PaletteMember("#A1B2C3")))
    assert validate(replace(request_, color_palette=ok)) == []
    assert validate(replace(request_, color_palette=ColorPalette(name="PASTEL"))) == []
    bad = ColorPalette(name="PASTEL", members=(PaletteMember("#12345", 2.0),))
    msgs = [p.message for p in validate(replace(request_, color_palette=bad))]
    assert any("not both" in m for m in msgs)
    assert any("“#12345” is not a colour" in m for m in msgs)
    assert any("between 0.05 and 1.0" in m for m in msgs)
    nine = ColorPalette(members=tuple(PaletteMember("#000") for _ in range(9)))
    assert "1 to 8 colours" in validate(replace(request_, color_palette=nine))[0].message
    assert ColorPalette.parse_member("#FF0000:0.5") == PaletteMember("#FF0000", 0.5)
    assert ok.to_json() == {
        "members": [{"color_hex": "#abc", "color_weight": 0.8}, {"color_hex": "#A1B2C3"}]
    }


def test_seed_and_count_ranges(request_):
    from dataclasses import replace

    assert fields(validate(replace(request_, seed=2_147_483_648, num_images=9))) == [
        "seed",
        "num_images",
    ]
    assert validate(replace(request_, seed=0, num_images=8)) == []


def test_provider_capabilities_name_the_field(request_):
    from dataclasses import replace

    r = replace(
        request_,
        style_preset="WATERCOLOR",
        negative_prompt="blurry",
        rendering_speed=RenderingSpeed.TURBO,
    )
    with pytest.raises(ValidationError) as exc:
        check(r, LocalProvider.capabilities, LocalProvider.label)
    assert set(fields(exc.value.problems)) == {"style_preset", "negative_prompt", "rendering_speed"}
    assert "Offline engine does not support style presets." in str(exc.value)
    with pytest.raises(ValidationError) as exc2:
        check(r, IdeogramProvider.capabilities, IdeogramProvider.label)
    assert fields(exc2.value.problems) == ["negative_prompt"]
    # the offline engine does not need a prompt
    check(replace(request_, prompt=""), LocalProvider.capabilities, LocalProvider.label)
