// Property tests on random expressions against a brute-force reference.
//
// The reference walks instants one by one and decides each from the spec alone, using
// abseil's civil-time conversion (not the engine's offset segments): a wall time matches the
// fields; an interval-like schedule fires at every matching instant; a fixed-time one fires at
// a match in its first pass only, and at the end of a gap when a skipped wall time matches.
// The engine's next/prev chains must produce exactly the reference's fire instants.
#include <random>
#include <set>

#include "cron_test_support.hpp"

namespace solocron::testing {
namespace {

struct Field {
  std::string text;
  std::set<int> values;  // plain values (day-of-week 7 folded to 0)
};

struct DayExtras {
  bool last = false;      // L
  int last_minus = -1;    // L-n
  bool last_weekday = false;
  int nearest = -1;       // nW
  int dow_last = -1;      // xL
  int nth_dow = -1, nth = 0;  // x#n
};

struct Expr {
  Field sec, min, hour, dom, mon, dow;
  DayExtras x;
  bool with_seconds = false;
  std::string text() const {
    std::string t = with_seconds ? sec.text + " " : "";
    return t + min.text + " " + hour.text + " " + dom.text + " " + mon.text + " " + dow.text;
  }
};

class Generator {
 public:
  explicit Generator(unsigned seed) : rng_(seed) {}
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int percent) { return pick(1, 100) <= percent; }

  // A field over [lo, hi]; `star_percent` of the time "*".
  Field field(int lo, int hi, int star_percent) {
    Field f;
    const int form = chance(star_percent) ? 0 : pick(1, 6);
    auto add = [&](int a, int b, int step) {
      for (int v = a; v <= b; v += step) f.values.insert(hi == 7 && v == 7 ? 0 : v);
    };
    const int a = pick(lo, hi), b = pick(a, hi), step = pick(1, std::max(1, (hi - lo) / 2));
    switch (form) {
      case 0: f.text = "*"; add(lo, hi, 1); break;
      case 1: f.text = "*/" + std::to_string(step); add(lo, hi, step); break;
      case 2: f.text = std::to_string(a); add(a, a, 1); break;
      case 3: f.text = std::to_string(a) + "-" + std::to_string(b); add(a, b, 1); break;
      case 4: f.text = std::to_string(a) + "-" + std::to_string(b) + "/" + std::to_string(step); add(a, b, step); break;
      case 5: f.text = std::to_string(a) + "/" + std::to_string(step); add(a, hi, step); break;
      default: {
        const int c = pick(lo, hi);
        f.text = std::to_string(a) + "," + std::to_string(c);
        add(a, a, 1);
        add(c, c, 1);
      }
    }
    return f;
  }

  Expr expr(bool with_seconds) {
    Expr e;
    e.with_seconds = with_seconds;
    e.sec = with_seconds ? field(0, 59, 40) : Field{"0", {0}};
    e.min = field(0, 59, 30);
    e.hour = field(0, 23, 40);
    e.dom = field(1, 31, 60);
    e.mon = field(1, 12, 80);
    e.dow = field(0, 7, 60);
    if (chance(10)) add_dom_extra(e);
    if (chance(10)) add_dow_extra(e);
    return e;
  }

 private:
  void add_dom_extra(Expr& e) {
    std::string item;
    switch (pick(0, 3)) {
      case 0: e.x.last = true; item = "L"; break;
      case 1: e.x.last_minus = pick(0, 30); item = "L-" + std::to_string(e.x.last_minus); break;
      case 2: e.x.last_weekday = true; item = "LW"; break;
      default: e.x.nearest = pick(1, 31); item = std::to_string(e.x.nearest) + "W";
    }
    e.dom.text = e.dom.text == "*" ? item : e.dom.text + "," + item;
    if (e.dom.text == item) e.dom.values.clear();
  }
  void add_dow_extra(Expr& e) {
    std::string item;
    if (chance(50)) {
      e.x.dow_last = pick(0, 6);
      item = std::to_string(e.x.dow_last) + "L";
    } else {
      e.x.nth_dow = pick(0, 6);
      e.x.nth = pick(1, 5);
      item = std::to_string(e.x.nth_dow) + "#" + std::to_string(e.x.nth);
    }
    e.dow.text = e.dow.text == "*" ? item : e.dow.text + "," + item;
    if (e.dow.text == item) e.dow.values.clear();
  }
  std::mt19937 rng_;
};

int weekday_of(absl::CivilDay d) {
  switch (absl::GetWeekday(d)) {
    case absl::Weekday::sunday: return 0;
    case absl::Weekday::monday: return 1;
    case absl::Weekday::tuesday: return 2;
    case absl::Weekday::wednesday: return 3;
    case absl::Weekday::thursday: return 4;
    case absl::Weekday::friday: return 5;
    default: return 6;
  }
}

bool day_matches(const Expr& e, absl::CivilDay day) {
  const absl::CivilDay last = absl::CivilDay(absl::CivilMonth(day) + 1) - 1;
  const int d = day.day(), wd = weekday_of(day), nd = last.day();
  bool dom = e.dom.values.count(d) > 0 || (e.x.last && d == nd) ||
             (e.x.last_minus >= 0 && d == nd - e.x.last_minus);
  if (e.x.last_weekday) {
    absl::CivilDay lw = last;
    while (weekday_of(lw) == 0 || weekday_of(lw) == 6) lw -= 1;
    dom = dom || lw == day;
  }
  if (e.x.nearest >= 1 && e.x.nearest <= nd) {
    // the weekday closest to day n inside the month
    const absl::CivilDay n = absl::CivilDay(day.year(), day.month(), e.x.nearest);
    absl::CivilDay best = n;
    if (weekday_of(n) == 6) best = e.x.nearest == 1 ? n + 2 : n - 1;
    if (weekday_of(n) == 0) best = e.x.nearest == nd ? n - 2 : n + 1;
    dom = dom || best == day;
  }
  bool dow = e.dow.values.count(wd) > 0 || (e.x.dow_last == wd && d + 7 > nd) ||
             (e.x.nth_dow == wd && (d - 1) / 7 + 1 == e.x.nth);
  const bool star = e.dom.text[0] == '*' || e.dow.text[0] == '*';
  return star ? (dom && dow) : (dom || dow);
}

bool matches(const Expr& e, absl::CivilSecond c) {
  return e.sec.values.count(c.second()) && e.min.values.count(c.minute()) &&
         e.hour.values.count(c.hour()) && e.mon.values.count(c.month()) &&
         day_matches(e, absl::CivilDay(c));
}

bool reference_fires(const Expr& e, const absl::TimeZone& tz, absl::Time t, absl::Duration step) {
  const auto info = tz.At(t);
  const bool interval_like = e.min.text[0] == '*' || e.hour.text[0] == '*';
  if (interval_like) return matches(e, info.cs);
  if (matches(e, info.cs) && tz.At(info.cs).pre == t) return true;  // first pass
  const int before = tz.At(t - absl::Seconds(1)).offset;
  if (before >= info.offset) return false;
  for (absl::CivilSecond c = info.cs - (info.offset - before); c < info.cs; c += absl::ToInt64Seconds(step))
    if (matches(e, c)) return true;  // a skipped wall time matched: fire at the gap's end
  return false;
}

sys_seconds to_sys(absl::Time t) { return sys_seconds{std::chrono::seconds{absl::ToUnixSeconds(t)}}; }

std::vector<std::string> shown(const std::vector<sys_seconds>& times, const std::string& zone) {
  std::vector<std::string> out;
  for (auto t : times) out.push_back(format_rfc3339(t, zone));
  return out;
}

// A start near a DST transition of `tz` half of the time, so that gaps and folds are exercised.
absl::Time random_start(Generator& g, const absl::TimeZone& tz) {
  absl::Time t = absl::FromCivil(absl::CivilSecond(g.pick(1971, 2195), g.pick(1, 12), g.pick(1, 28)), absl::UTCTimeZone());
  absl::TimeZone::CivilTransition tr;
  if (g.chance(60) && tz.NextTransition(t, &tr) && tr.to.year() < 2199)
    t = tz.At(tr.to).trans - absl::Minutes(g.pick(0, 180));
  return t + absl::Seconds(g.pick(0, 59));
}

void check_against_reference(const Expr& e, const std::string& zone, absl::Time start,
                             absl::Duration span, absl::Duration step) {
  absl::TimeZone tz;
  ASSERT_TRUE(absl::LoadTimeZone(zone, &tz));
  auto parsed = Schedule::parse(e.text(), ParseOptions{zone});
  if (!parsed) {
    ASSERT_TRUE(parsed.error().never_fires) << parsed.error().message();
    return;
  }
  const Schedule& s = *parsed;
  std::vector<sys_seconds> want;
  for (absl::Time t = absl::Ceil(start + absl::Seconds(1) - absl::UnixEpoch(), step) + absl::UnixEpoch();
       t <= start + span; t += step)
    if (reference_fires(e, tz, t, step)) want.push_back(to_sys(t));
  std::vector<sys_seconds> got;
  for (auto t = s.next(to_sys(start)); t && *t <= to_sys(start + span); t = s.next(*t)) got.push_back(*t);
  const std::string where = e.text() + " in " + zone + " from " + absl::FormatTime(start, tz);
  ASSERT_EQ(shown(got, zone), shown(want, zone)) << where;
  // prev walks the same instants backwards from the end of the span
  std::vector<sys_seconds> back;
  const sys_seconds end = to_sys(start + span) + std::chrono::seconds{1};
  for (auto t = s.prev(end); t && *t > to_sys(start); t = s.prev(*t)) back.insert(back.begin(), *t);
  ASSERT_EQ(shown(back, zone), shown(want, zone)) << where << " (prev)";
  // beyond the span: next is strictly increasing and prev(next(t)) <= t
  const auto n = s.next(to_sys(start + span));
  if (n) {
    EXPECT_GT(*n, to_sys(start + span)) << where;
    const auto p = s.prev(*n);
    ASSERT_TRUE(p.has_value()) << where;
    EXPECT_LE(*p, to_sys(start + span)) << where;
  }
}

const char* const kZones[] = {"UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe",
                              "America/Sao_Paulo", "Asia/Beirut", "Pacific/Apia", "Asia/Kolkata",
                              "America/Santiago", "Europe/Berlin"};

TEST(PropertyTest, FiveFieldExpressionsMatchTheReference) {
  Generator g(20260308);
  for (int i = 0; i < 1500; ++i) {
    const Expr e = g.expr(false);
    const std::string zone = kZones[g.pick(0, std::size(kZones) - 1)];
    absl::TimeZone tz;
    ASSERT_TRUE(absl::LoadTimeZone(zone, &tz));
    check_against_reference(e, zone, random_start(g, tz), absl::Hours(36), absl::Minutes(1));
    if (HasFatalFailure()) return;
  }
}

TEST(PropertyTest, SixFieldExpressionsMatchTheReference) {
  Generator g(20261101);
  for (int i = 0; i < 300; ++i) {
    const Expr e = g.expr(true);
    const std::string zone = kZones[g.pick(0, std::size(kZones) - 1)];
    absl::TimeZone tz;
    ASSERT_TRUE(absl::LoadTimeZone(zone, &tz));
    check_against_reference(e, zone, random_start(g, tz), absl::Hours(4), absl::Seconds(1));
    if (HasFatalFailure()) return;
  }
}

// Fire times of a chain match the fields in local time, except a fixed-time schedule's fire at
// the end of a DST gap.
TEST(PropertyTest, FireTimesMatchFieldsInLocalTime) {
  Generator g(42);
  for (int i = 0; i < 200; ++i) {
    const Expr e = g.expr(g.chance(30));
    const std::string zone = kZones[g.pick(0, std::size(kZones) - 1)];
    absl::TimeZone tz;
    ASSERT_TRUE(absl::LoadTimeZone(zone, &tz));
    auto s = Schedule::parse(e.text(), ParseOptions{zone});
    if (!s) continue;
    auto t = to_sys(random_start(g, tz));
    for (int k = 0; k < 50; ++k) {
      auto n = s->next(t);
      if (!n) break;
      ASSERT_GT(*n, t);
      const absl::Time at_abs = absl::FromUnixSeconds(n->time_since_epoch().count());
      const auto info = tz.At(at_abs);
      const bool gap_end = tz.At(at_abs - absl::Seconds(1)).offset < info.offset;
      EXPECT_TRUE(matches(e, info.cs) || (gap_end && !s->is_interval_like()))
          << e.text() << " in " << zone << " fired at " << format_rfc3339(*n, zone);
      t = *n;
    }
  }
}

}  // namespace
}  // namespace solocron::testing
