//! Numbers, money, dates and plurals as each language writes them.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc, Weekday};

use crate::contact::{CustomerTimeZone, Language};
use crate::money::Money;

/// Picks the Russian plural form for `n`: `one` (1, 21, 101), `few` (2–4, 22–24) or `many`
/// (0, 5–20, 25–30, 11–14), by the CLDR rule for Russian integers.
pub fn ru_plural<'a>(n: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    let (last, last_two) = (n % 10, n % 100);
    if last == 1 && last_two != 11 {
        one
    } else if (2..=4).contains(&last) && !(12..=14).contains(&last_two) {
        few
    } else {
        many
    }
}

/// "1 item", "3 items"; "1 товар", "2 товара", "5 товаров".
pub fn count_items(n: u64, language: Language) -> String {
    match language {
        Language::En => format!("{n} {}", if n == 1 { "item" } else { "items" }),
        Language::Ru => format!("{n} {}", ru_plural(n, "товар", "товара", "товаров")),
    }
}

/// "1 day", "3 days"; "1 день", "2 дня", "5 дней".
pub fn count_days(n: u64, language: Language) -> String {
    match language {
        Language::En => format!("{n} {}", if n == 1 { "day" } else { "days" }),
        Language::Ru => format!("{n} {}", ru_plural(n, "день", "дня", "дней")),
    }
}

/// An English ordinal: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st.
pub fn ordinal_en(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Money as the language writes it: `$1,234.50`, `1,234.50 CHF`; `1 234,50 ₽`, `1 234,50 CHF`.
/// Rounded to the currency's minor units.
pub fn money(value: Money, language: Language) -> String {
    let digits = value.currency.minor_units();
    let rounded = value.amount.value().round_dp(digits);
    let plain = format!("{rounded:.prec$}", prec = digits as usize);
    let (whole, fraction) = plain.split_once('.').unwrap_or((plain.as_str(), ""));
    let (group, point) = match language {
        Language::En => (",", "."),
        Language::Ru => ("\u{a0}", ","),
    };
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push_str(group);
        }
        grouped.push(c);
    }
    let number = if fraction.is_empty() {
        grouped
    } else {
        format!("{grouped}{point}{fraction}")
    };
    match (language, value.currency.symbol()) {
        (Language::En, Some(symbol)) => format!("{symbol}{number}"),
        (Language::Ru, Some(symbol)) => format!("{number}\u{a0}{symbol}"),
        (_, None) => format!("{number}\u{a0}{}", value.currency.code()),
    }
}

const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const RU_MONTHS_GENITIVE: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

fn weekday(day: Weekday, language: Language) -> &'static str {
    let index = day.num_days_from_monday() as usize;
    match language {
        Language::En => [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ][index],
        Language::Ru => [
            "понедельник",
            "вторник",
            "среда",
            "четверг",
            "пятница",
            "суббота",
            "воскресенье",
        ][index],
    }
}

/// A calendar day with its weekday: "Wednesday, 25 November 2026"; "среда, 25 ноября 2026".
pub fn date(day: NaiveDate, language: Language) -> String {
    let month = day.month0() as usize;
    match language {
        Language::En => format!(
            "{}, {} {} {}",
            weekday(day.weekday(), language),
            day.day(),
            EN_MONTHS[month],
            day.year()
        ),
        Language::Ru => {
            format!(
                "{}, {} {} {}",
                weekday(day.weekday(), language),
                day.day(),
                RU_MONTHS_GENITIVE[month],
                day.year()
            )
        }
    }
}

/// An instant as the customer's wall clock shows it: "25 November 2026, 14:05";
/// "25 ноября 2026, 14:05". The conversion is chrono-tz's, so daylight saving time is right.
pub fn local_time(instant: DateTime<Utc>, zone: CustomerTimeZone, language: Language) -> String {
    let local = zone.local(instant);
    let month = local.month0() as usize;
    let name = match language {
        Language::En => EN_MONTHS[month],
        Language::Ru => RU_MONTHS_GENITIVE[month],
    };
    format!(
        "{} {} {}, {:02}:{:02}",
        local.day(),
        name,
        local.year(),
        local.hour(),
        local.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Amount, Currency};

    fn m(amount: &str, currency: &str) -> Money {
        Money {
            amount: Amount::parse(amount).unwrap(),
            currency: Currency::parse(currency).unwrap(),
        }
    }

    #[test]
    fn russian_item_counts_use_the_right_plural() {
        let cases = [
            (1, "1 товар"),
            (2, "2 товара"),
            (4, "4 товара"),
            (5, "5 товаров"),
            (11, "11 товаров"),
            (12, "12 товаров"),
            (14, "14 товаров"),
            (21, "21 товар"),
            (22, "22 товара"),
            (25, "25 товаров"),
            (101, "101 товар"),
            (111, "111 товаров"),
            (0, "0 товаров"),
        ];
        for (n, expected) in cases {
            assert_eq!(count_items(n, Language::Ru), expected);
        }
        assert_eq!(count_items(1, Language::En), "1 item");
        assert_eq!(count_items(2, Language::En), "2 items");
    }

    #[test]
    fn english_ordinals_handle_the_teens() {
        let got: Vec<String> = [1, 2, 3, 4, 10, 11, 12, 13, 21, 22, 101, 111]
            .into_iter()
            .map(ordinal_en)
            .collect();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "10th", "11th", "12th", "13th", "21st", "22nd",
                "101st", "111th"
            ]
        );
    }

    #[test]
    fn money_is_grouped_and_rounded_per_language_and_currency() {
        assert_eq!(money(m("1234.5", "USD"), Language::En), "$1,234.50");
        assert_eq!(
            money(m("1234567.891", "RUB"), Language::Ru),
            "1\u{a0}234\u{a0}567,89\u{a0}₽"
        );
        assert_eq!(money(m("1500", "JPY"), Language::En), "¥1,500");
        assert_eq!(money(m("12", "CHF"), Language::En), "12.00\u{a0}CHF");
        assert_eq!(money(m("999.99", "EUR"), Language::Ru), "999,99\u{a0}€");
    }

    #[test]
    fn dates_read_naturally_in_both_languages() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(date(day, Language::En), "Wednesday, 25 November 2026");
        assert_eq!(date(day, Language::Ru), "среда, 25 ноября 2026");
    }

    #[test]
    fn local_time_follows_the_customers_zone_across_midnight_and_dst() {
        let zone = CustomerTimeZone::parse("America/Los_Angeles").unwrap();
        let instant = "2026-11-02T05:30:00Z".parse().unwrap();
        assert_eq!(
            local_time(instant, zone, Language::En),
            "1 November 2026, 21:30"
        );
        let summer = "2026-07-02T05:30:00Z".parse().unwrap();
        assert_eq!(local_time(summer, zone, Language::En), "1 July 2026, 22:30");
        let yekaterinburg = CustomerTimeZone::parse("Asia/Yekaterinburg").unwrap();
        assert_eq!(
            local_time(instant, yekaterinburg, Language::Ru),
            "2 ноября 2026, 10:30"
        );
    }
}
