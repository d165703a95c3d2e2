//! Option selection against descriptors shaped like real backends' (test, fujitsu, epson2,
//! canon_dr, airscan, Brother), table-driven.

use super::*;

const SETTABLE: i32 = CAP_SOFT_SELECT;

fn strings(name: &str, values: &[&str]) -> OptionDescriptor {
    OptionDescriptor {
        index: 1,
        name: name.into(),
        title: name.into(),
        value_type: ValueType::String,
        unit: 0,
        size: 64,
        cap: SETTABLE,
        constraint: Constraint::StringList(values.iter().map(|v| v.to_string()).collect()),
    }
}

fn boolean(name: &str) -> OptionDescriptor {
    OptionDescriptor {
        index: 2,
        name: name.into(),
        title: name.into(),
        value_type: ValueType::Bool,
        unit: 0,
        size: 4,
        cap: SETTABLE,
        constraint: Constraint::None,
    }
}

fn resolution(value_type: ValueType, constraint: Constraint) -> OptionDescriptor {
    OptionDescriptor {
        index: 3,
        name: "resolution".into(),
        title: "Resolution".into(),
        value_type,
        unit: 4,
        size: 4,
        cap: SETTABLE,
        constraint,
    }
}

fn text(name: &str, value: &str) -> Setting {
    Setting { name: name.into(), value: OptionValue::Text(value.into()) }
}

#[test]
fn sources_are_chosen_from_the_map_then_by_name_patterns() {
    let map = SaneOptionMap::default();
    let test_backend = vec![strings("source", &["Flatbed", "Automatic Document Feeder"])];
    let fujitsu = vec![strings("source", &["ADF Front", "ADF Back", "ADF Duplex"])];
    let epson2 =
        vec![strings("source", &["Flatbed", "Automatic Document Feeder"]), strings("adf-mode", &["Simplex", "Duplex"])];
    let underscore =
        vec![strings("source", &["Platen", "Document Feeder"]), strings("adf_mode", &["Simplex", "Duplex"])];
    let bool_duplex = vec![strings("source", &["flatbed", "adf"]), boolean("duplex")];
    let brother = vec![strings(
        "source",
        &["FlatBed", "Automatic Document Feeder(left aligned)", "Automatic Document Feeder(left aligned,Duplex)"],
    )];
    type Case<'a> = (&'a str, &'a Vec<OptionDescriptor>, ScanSource, Result<Vec<Setting>, &'a str>);
    let cases: Vec<Case<'_>> = vec![
        ("test flatbed", &test_backend, ScanSource::Flatbed, Ok(vec![text("source", "Flatbed")])),
        ("test adf", &test_backend, ScanSource::Adf, Ok(vec![text("source", "Automatic Document Feeder")])),
        ("test duplex", &test_backend, ScanSource::AdfDuplex, Err("cannot scan both sides")),
        ("fujitsu adf skips ADF Back", &fujitsu, ScanSource::Adf, Ok(vec![text("source", "ADF Front")])),
        ("fujitsu duplex", &fujitsu, ScanSource::AdfDuplex, Ok(vec![text("source", "ADF Duplex")])),
        (
            "fujitsu has no flatbed",
            &fujitsu,
            ScanSource::Flatbed,
            Err("offers sources: ADF Front, ADF Back, ADF Duplex"),
        ),
        (
            "epson2 duplex via adf-mode",
            &epson2,
            ScanSource::AdfDuplex,
            Ok(vec![text("source", "Automatic Document Feeder"), text("adf-mode", "Duplex")]),
        ),
        (
            "epson2 simplex resets adf-mode",
            &epson2,
            ScanSource::Adf,
            Ok(vec![text("source", "Automatic Document Feeder"), text("adf-mode", "Simplex")]),
        ),
        (
            "adf_mode spelling, Platen, Document Feeder",
            &underscore,
            ScanSource::AdfDuplex,
            Ok(vec![text("source", "Document Feeder"), text("adf_mode", "Duplex")]),
        ),
        ("platen is a flatbed", &underscore, ScanSource::Flatbed, Ok(vec![text("source", "Platen")])),
        (
            "duplex bool",
            &bool_duplex,
            ScanSource::AdfDuplex,
            Ok(vec![text("source", "adf"), Setting { name: "duplex".into(), value: OptionValue::Bool(true) }]),
        ),
        (
            "duplex bool off for simplex",
            &bool_duplex,
            ScanSource::Adf,
            Ok(vec![text("source", "adf"), Setting { name: "duplex".into(), value: OptionValue::Bool(false) }]),
        ),
        ("case-insensitive flatbed", &bool_duplex, ScanSource::Flatbed, Ok(vec![text("source", "flatbed")])),
        (
            "brother duplex by pattern",
            &brother,
            ScanSource::AdfDuplex,
            Ok(vec![text("source", "Automatic Document Feeder(left aligned,Duplex)")]),
        ),
        (
            "brother simplex not the duplex one",
            &brother,
            ScanSource::Adf,
            Ok(vec![text("source", "Automatic Document Feeder(left aligned)")]),
        ),
    ];
    for (name, descriptors, source, want) in cases {
        let got = choose_source(descriptors, &map, source);
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{name}"),
            (Err(error), Err(part)) => assert!(error.0.contains(part), "{name}: {error}"),
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn a_profile_value_wins_over_patterns_and_inactive_options_are_ignored() {
    let map = SaneOptionMap { adf_values: vec!["ADF Back".into()], ..SaneOptionMap::default() };
    let fujitsu = vec![strings("source", &["ADF Front", "ADF Back", "ADF Duplex"])];
    assert_eq!(choose_source(&fujitsu, &map, ScanSource::Adf), Ok(vec![text("source", "ADF Back")]));

    let mut inactive = strings("source", &["Flatbed", "ADF"]);
    inactive.cap |= CAP_INACTIVE;
    assert_eq!(choose_source(std::slice::from_ref(&inactive), &map, ScanSource::Flatbed), Ok(vec![]));
    let error = choose_source(&[inactive], &map, ScanSource::Adf).expect_err("no usable source option");
    assert!(error.0.contains("no `source` option"), "{error}");
}

#[test]
fn modes_match_color_colour_gray_grey_lineart_binary() {
    let map = SaneOptionMap::default();
    let cases: Vec<(&[&str], ColorMode, Result<&str, &str>)> = vec![
        (&["Lineart", "Gray", "Color"], ColorMode::Color, Ok("Color")),
        (&["Lineart", "Gray", "Color"], ColorMode::Auto, Ok("Color")),
        (&["Lineart", "Gray", "Color"], ColorMode::Bw, Ok("Lineart")),
        (&["Black & White", "True Gray", "24bit Color"], ColorMode::Color, Ok("24bit Color")),
        (&["Black & White", "True Gray", "24bit Color"], ColorMode::Gray, Ok("True Gray")),
        (&["Black & White", "True Gray", "24bit Color"], ColorMode::Bw, Ok("Black & White")),
        (&["Binary", "Grey", "Colour"], ColorMode::Gray, Ok("Grey")),
        (&["Binary", "Grey", "Colour"], ColorMode::Color, Ok("Colour")),
        (&["Binary", "Grey", "Colour"], ColorMode::Bw, Ok("Binary")),
        // The test backend and airscan have no lineart: gray, thresholded by the pipeline.
        (&["Gray", "Color"], ColorMode::Bw, Ok("Gray")),
        (&["Gray"], ColorMode::Color, Err("colour mode `color` is not offered; this scanner offers: Gray")),
    ];
    for (values, color, want) in cases {
        let got = choose_mode(&[strings("mode", values)], &map, color).map_err(|e| e.0);
        let want = want.map(|value| vec![text("mode", value)]).map_err(str::to_owned);
        assert_eq!(got, want, "{values:?} {color:?}");
    }
    assert_eq!(choose_mode(&[], &map, ColorMode::Gray), Ok(vec![]), "no mode option: nothing to set");
}

#[test]
fn resolution_is_the_nearest_offered_value_int_or_fixed() {
    let map = SaneOptionMap::default();
    let fix = |v: f64| f64_to_fixed(v);
    let int_list = resolution(ValueType::Int, Constraint::WordList(vec![75, 150, 300, 600]));
    let fixed_range =
        resolution(ValueType::Fixed, Constraint::Range { min: fix(1.0), max: fix(1200.0), quant: fix(1.0) });
    let stepped = resolution(ValueType::Int, Constraint::Range { min: 50, max: 600, quant: 25 });
    let fixed_list = resolution(ValueType::Fixed, Constraint::WordList(vec![fix(100.0), fix(200.0), fix(400.0)]));
    let free = resolution(ValueType::Int, Constraint::None);
    let cases: Vec<(&OptionDescriptor, u32, Result<OptionValue, &str>)> = vec![
        (&int_list, 300, Ok(OptionValue::Int(vec![300]))),
        (&int_list, 200, Ok(OptionValue::Int(vec![150]))),
        (&int_list, 260, Ok(OptionValue::Int(vec![300]))),
        (&int_list, 1200, Err("1200 dpi is not offered; this scanner offers 75, 150, 300, 600 dpi")),
        (&int_list, 50, Err("this scanner offers 75, 150, 300, 600 dpi")),
        (&fixed_range, 300, Ok(OptionValue::Fixed(vec![fix(300.0)]))),
        (&fixed_range, 2400, Err("2400 dpi is not offered; this scanner offers 1–1200 dpi")),
        (&stepped, 310, Ok(OptionValue::Int(vec![300]))),
        (&stepped, 590, Ok(OptionValue::Int(vec![600]))),
        (&stepped, 40, Err("this scanner offers 50–600 dpi")),
        (&fixed_list, 290, Ok(OptionValue::Fixed(vec![fix(200.0)]))),
        (&free, 333, Ok(OptionValue::Int(vec![333]))),
    ];
    for (descriptor, dpi, want) in cases {
        let got = choose_resolution(std::slice::from_ref(descriptor), &map, dpi);
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, vec![Setting { name: "resolution".into(), value: want }], "{dpi}"),
            (Err(error), Err(part)) => assert!(error.0.contains(part), "{dpi}: {error}"),
            (got, want) => panic!("{dpi} dpi: got {got:?}, want {want:?}"),
        }
    }
    // No `resolution`: x-resolution and y-resolution both set.
    let mut x = resolution(ValueType::Int, Constraint::None);
    x.name = "x-resolution".into();
    let mut y = x.clone();
    y.name = "y-resolution".into();
    let got = choose_resolution(&[x, y], &map, 300).expect("x and y");
    assert_eq!(got.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["x-resolution", "y-resolution"]);
    assert_eq!(value_dpi(&OptionValue::Fixed(vec![fix(299.6)])), Some(300));
    assert_eq!(value_dpi(&OptionValue::Int(vec![-1])), None);
}

#[test]
fn text_values_parse_by_option_type() {
    let fix = |v: f64| f64_to_fixed(v);
    let int = resolution(ValueType::Int, Constraint::None);
    let fixed = resolution(ValueType::Fixed, Constraint::None);
    assert_eq!(parse_value(&boolean("duplex"), "yes"), Ok(OptionValue::Bool(true)));
    assert_eq!(parse_value(&boolean("duplex"), "OFF"), Ok(OptionValue::Bool(false)));
    assert!(parse_value(&boolean("duplex"), "maybe").expect_err("not a bool").contains("yes or no"));
    assert_eq!(parse_value(&int, "1, 2,3"), Ok(OptionValue::Int(vec![1, 2, 3])));
    assert!(parse_value(&int, "1.5").is_err());
    assert_eq!(parse_value(&fixed, "-42.5"), Ok(OptionValue::Fixed(vec![fix(-42.5)])));
    assert_eq!(parse_value(&strings("mode", &[]), " Gray "), Ok(OptionValue::Text("Gray".into())));
    assert_eq!(OptionValue::Fixed(vec![fix(12.5), fix(1.0)]).to_string(), "12.5,1");
    assert_eq!(fixed_to_f64(fix(129.5)), 129.5);
}

#[test]
fn the_summary_lists_sources_modes_and_dpi() {
    let fix = |v: f64| f64_to_fixed(v);
    let descriptors = vec![
        strings("source", &["Flatbed", "Automatic Document Feeder"]),
        strings("mode", &["Gray", "Color"]),
        resolution(ValueType::Fixed, Constraint::Range { min: fix(1.0), max: fix(1200.0), quant: fix(1.0) }),
    ];
    assert_eq!(
        summary(&descriptors, &SaneOptionMap::default()),
        "sources: Flatbed, Automatic Document Feeder; modes: Gray, Color; dpi: 1–1200"
    );
}
