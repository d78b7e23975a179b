"""Event classification: rules files, cues, actors, places, dates, fatalities, gates."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date

import pytest

from extractors.classify import ClassifyInput, classify, find_actors, find_places, find_triggers
from extractors.dates import resolve_event_date
from extractors.errors import ConfigError
from extractors.fatalities import parse_fatalities
from extractors.rules import DATA_DIR, EVENT_TYPES, load_rules
from flows.evaluate import DEFAULT_LABELS, evaluate_classify, load_classify_articles, load_classify_sentences

RULES = load_rules()


def types_of(sentence: str) -> set[str]:
    return {h.slug for h in find_triggers(sentence, RULES)}


@pytest.mark.parametrize(
    ("sentence", "absent"),
    [
        ("Aliyev said there would be no halt to fighting until Armenian forces withdrew.", "ceasefire"),
        ("Pashinyan said his country was ready for the resumption of the peace process.", "talks"),
        ("An Azeri diplomatic source said he did not think that talks were moving closer to a resolution.", "talks"),
        ("The two governments hope to sign a peace treaty next year.", "agreement"),
        ("A ceasefire could be announced within hours if the talks succeed.", "ceasefire"),
        ("Kerry and Lavrov called on both sides to stop fighting and return to negotiations.", "talks"),
    ],
)
def test_negated_hypothetical_and_wished_events_are_not_reported(sentence, absent):
    assert absent not in types_of(sentence)


def test_speech_acts_survive_their_own_content():
    assert "appeal" in types_of("Kerry and Lavrov called on both sides to stop fighting and return to negotiations.")
    assert "threat" in types_of("Aliyev said there would be no halt to fighting until Armenian forces withdrew.")


def test_one_sentence_can_yield_several_events():
    found = types_of("Armenia denied firing at Ganja and accused Azerbaijan of shelling Stepanakert.")
    assert {"rejection", "accusation", "armed_clash"} <= found


def test_actors_office_holders_and_specific_names():
    assert find_actors("Pashinyan met Aliyev and Putin in the Kremlin.", RULES) == ["ARM", "AZE", "RUS"]
    assert find_actors("Karabakh Armenian authorities accused Baku.", RULES) == ["NKR", "AZE"]
    assert find_actors("The Minsk Group co-chairs and the UN refugee agency UNHCR", RULES) == ["OSCE", "UN"]


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [("Khankendi", "Stepanakert"), ("Shushi", "Shusha"), ("Berdzor", "Lachin"), ("Karvachar", "Kalbajar"),
     ("Martuni", "Khojavend"), ("Askeran", "Askeran"), ("Goris", "Goris"), ("Nakhichevan", "Nakhchivan")],
)
def test_dual_names_resolve_to_one_place(alias, canonical):
    assert find_places(f"Shells fell on {alias} overnight.", RULES) == [canonical]
    place = RULES.places[canonical]
    assert -90 <= place.lat <= 90 and place.country in {"AZE", "ARM"}


def test_capitals_count_only_as_places_not_as_governments():
    assert find_places("Baku accused Yerevan of provocations.", RULES) == []
    assert find_places("The talks in Moscow lasted ten hours.", RULES) == ["Moscow"]


@pytest.mark.parametrize(
    ("text", "published", "expected", "precision"),
    [
        ("The ministers met on Monday.", date(2020, 10, 9), date(2020, 10, 5), "day"),   # a Friday -> Monday before
        ("Putin announced it late Thursday.", date(2020, 10, 9), date(2020, 10, 8), "day"),
        ("The talks were held last month.", date(2013, 1, 29), date(2012, 12, 1), "month"),
        ("In August, Aliyev pardoned the officer.", date(2013, 1, 29), date(2012, 8, 1), "month"),
        ("On Sept. 21, 2023, the sides met in Yevlakh.", date(2023, 9, 22), date(2023, 9, 21), "day"),
        ("Fighting continued overnight.", date(2020, 10, 9), date(2020, 10, 9), "day"),
    ],
)
def test_dates_resolve_against_publication(text, published, expected, precision):
    resolved = resolve_event_date(text, published)
    assert (resolved.value, resolved.precision) == (expected, precision)


@pytest.mark.parametrize(
    ("text", "count", "hedge"),
    [
        ("Renewed fighting has claimed some 400 lives.", 400, "about"),
        ("More than 6,500 people lost their lives.", 6500, "more than"),
        ("A war that killed about 30,000 people.", 30000, "about"),
        ("Nearly 100 soldiers were killed.", 100, "nearly"),
        ("Armenia said 49 of its soldiers had been killed.", 49, None),
        ("Four Armenian soldiers were killed.", 4, None),
        ("Dozens of civilians have been killed.", None, "dozens"),
    ],
)
def test_fatalities_with_hedges(text, count, hedge):
    found = parse_fatalities(text)
    assert found is not None and found.count == count and found.qualifier == hedge


def test_background_figures_stay_off_the_root():
    text = ("PARIS — Officials from Azerbaijan and Armenia met in Paris on Monday for talks over Nagorno-Karabakh, "
            "which was the cause of a war that killed about 30,000 people in the early 1990s.\n"
            "The talks ended without a statement.")
    events = classify(ClassifyInput("t", "Talks in Paris", text, date(2013, 1, 29)), RULES)
    root = next(e for e in events if e.is_root)
    assert root.event_type == "talks" and root.fatalities is None
    assert root.location == "Paris" and root.event_date == date(2013, 1, 28)
    assert root.actor1 == "AZE" and root.actor2 == "ARM" and root.evidence.startswith("Officials")
    assert root.plover == "CONSULT" and root.cameo == "04" and root.classifier_version == RULES.version


def test_exactly_one_root_per_labelled_article():
    for item in load_classify_articles(DEFAULT_LABELS / "classify"):
        events = classify(ClassifyInput(item.id, item.title, item.text, item.published), RULES)
        assert sum(e.is_root for e in events) == 1, item.id
        assert len({e.event_id for e in events}) == len(events)


def test_labelled_set_covers_types_and_years():
    articles = load_classify_articles(DEFAULT_LABELS / "classify")
    assert len(articles) >= 45
    roots = Counter(a.root_type for a in articles)
    assert set(roots) == set(EVENT_TYPES)
    assert {a.published.year for a in articles} >= set(range(2012, 2026))
    assert len(load_classify_sentences(DEFAULT_LABELS / "classify")) >= 150


def test_classification_gates():
    score = evaluate_classify(DEFAULT_LABELS, RULES)
    assert score.micro.f1 >= 0.80, score.misses
    assert score.rate(score.root_correct) >= 0.80, score.misses
    assert score.sentence_micro.f1 >= 0.75


def test_bad_data_files_are_refused(tmp_path):
    for name in ("taxonomy.toml", "actors.toml", "gazetteer.toml"):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    text = (tmp_path / "taxonomy.toml").read_text().replace('slug = "protest"', 'slug = "riot"')
    (tmp_path / "taxonomy.toml").write_text(text)
    with pytest.raises(ConfigError, match="unknown event type 'riot'"):
        load_rules(tmp_path)
    shutil.copy(DATA_DIR / "taxonomy.toml", tmp_path / "taxonomy.toml")
    gaz = (tmp_path / "gazetteer.toml").read_text().replace('aliases = ["Shushi", "Şuşa"]',
                                                           'aliases = ["Shushi", "Khankendi"]')
    (tmp_path / "gazetteer.toml").write_text(gaz)
    with pytest.raises(ConfigError, match="Khankendi"):
        load_rules(tmp_path)
