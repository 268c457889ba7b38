// Tests for hyp/lib/result: Result/Err/Status, TRY propagation, value_or and
// copies, with a value type that counts its lifetimes so that a leak or a
// double destruction shows up as a count mismatch (and under ASan).
#include "hyp/lib/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <type_traits>

namespace lamina {
namespace {

enum class TestError { kFirst, kSecond };

// Counts live objects; owns heap memory so a leak is also an ASan report and
// a double destruction a double free.
struct Tracked {
  static inline int live = 0;
  static inline int constructed = 0;
  static inline int destroyed = 0;

  explicit Tracked(int v) : value(new int(v)) { ++live, ++constructed; }
  Tracked(const Tracked& o) : value(new int(*o.value)) { ++live, ++constructed; }
  Tracked& operator=(const Tracked& o) {
    *value = *o.value;
    return *this;
  }
  ~Tracked() {
    EXPECT_NE(value, nullptr) << "destroyed twice";
    delete value;
    value = nullptr;
    --live, ++destroyed;
  }
  int get() const { return *value; }

  int* value;
};

class ResultTest : public testing::Test {
 protected:
  void SetUp() override { Tracked::live = Tracked::constructed = Tracked::destroyed = 0; }
  void TearDown() override {
    EXPECT_EQ(Tracked::live, 0) << "leaked or double-destroyed Tracked objects";
    EXPECT_EQ(Tracked::constructed, Tracked::destroyed);
  }
};

Result<Tracked, TestError> make(int v) { return Tracked(v); }
Result<Tracked, TestError> fail(TestError e) { return Err{e}; }

TEST_F(ResultTest, HoldsAValue) {
  {
    const Result<Tracked, TestError> r = make(7);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(r.value().get(), 7);
    EXPECT_EQ(Tracked::live, 1);
  }
  EXPECT_EQ(Tracked::live, 0);
}

TEST_F(ResultTest, HoldsAnError) {
  {
    const Result<Tracked, TestError> r = fail(TestError::kSecond);
    ASSERT_FALSE(r.ok());
    EXPECT_FALSE(static_cast<bool>(r));
    EXPECT_EQ(r.error(), TestError::kSecond);
    EXPECT_EQ(Tracked::constructed, 0) << "no T is built for an error";
  }
}

TEST_F(ResultTest, CopiesAreIndependent) {
  {
    Result<Tracked, TestError> a = make(1);
    Result<Tracked, TestError> b = a;
    EXPECT_EQ(Tracked::live, 2);
    *b.value().value = 2;
    EXPECT_EQ(a.value().get(), 1);
    EXPECT_EQ(b.value().get(), 2);
    const Result<Tracked, TestError> e = fail(TestError::kFirst);
    const Result<Tracked, TestError> e2 = e;
    EXPECT_FALSE(e2.ok());
    EXPECT_EQ(e2.error(), TestError::kFirst);
    EXPECT_EQ(Tracked::live, 2);
  }
}

TEST_F(ResultTest, ValueOr) {
  {
    const Result<Tracked, TestError> ok = make(3);
    const Result<Tracked, TestError> err = fail(TestError::kFirst);
    EXPECT_EQ(ok.value_or(Tracked(9)).get(), 3);
    EXPECT_EQ(err.value_or(Tracked(9)).get(), 9);
    EXPECT_EQ(Tracked::live, 1);
  }
  const Result<int, TestError> i = Err{TestError::kFirst};
  EXPECT_EQ(i.value_or(42), 42);
  EXPECT_EQ((Result<int, TestError>(5).value_or(42)), 5);
}

Result<int, TestError> sum_of(Result<Tracked, TestError> (*first)(), Result<Tracked, TestError> (*second)()) {
  const Tracked a = TRY(first());
  const Tracked b = TRY(second());
  return a.get() + b.get();
}

TEST_F(ResultTest, TryYieldsValuesAndPropagatesTheFirstError) {
  const auto r = sum_of([] { return make(2); }, [] { return make(40); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 42);
  const auto e1 = sum_of([] { return fail(TestError::kFirst); }, [] { return make(40); });
  ASSERT_FALSE(e1.ok());
  EXPECT_EQ(e1.error(), TestError::kFirst);
  const auto e2 = sum_of([] { return make(2); }, [] { return fail(TestError::kSecond); });
  ASSERT_FALSE(e2.ok());
  EXPECT_EQ(e2.error(), TestError::kSecond);
  EXPECT_EQ(Tracked::live, 0) << "the first value was destroyed on the error path";
}

int tries_evaluated = 0;
Status<TestError> step(bool ok) {
  ++tries_evaluated;
  if (!ok) return Err{TestError::kSecond};
  return Ok{};
}
Status<TestError> three_steps(bool a, bool b, bool c) {
  TRY(step(a));
  TRY(step(b));
  TRY(step(c));
  return Ok{};
}

TEST_F(ResultTest, StatusStopsAtTheFirstFailure) {
  tries_evaluated = 0;
  EXPECT_TRUE(three_steps(true, true, true).ok());
  EXPECT_EQ(tries_evaluated, 3);
  tries_evaluated = 0;
  const auto r = three_steps(true, false, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TestError::kSecond);
  EXPECT_EQ(tries_evaluated, 2) << "the third step never ran";
}

// TRY converts between Result types with the same error type.
Result<std::string, TestError> describe(int v) {
  const Tracked t = TRY(v < 0 ? fail(TestError::kFirst) : make(v));
  return std::to_string(t.get());
}

TEST_F(ResultTest, TryAcrossValueTypes) {
  const auto ok = describe(12);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), "12");
  const auto err = describe(-1);
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error(), TestError::kFirst);
}

TEST_F(ResultTest, SameValueAndErrorTypeAreDisambiguatedByErr) {
  const Result<int, int> value = 5;
  const Result<int, int> error = Err{5};
  EXPECT_TRUE(value.ok());
  EXPECT_EQ(value.value(), 5);
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.error(), 5);
}

TEST_F(ResultTest, RvalueValueMovesOut) {
  auto owned = Result<std::unique_ptr<int>, TestError>(std::make_unique<int>(8));
  std::unique_ptr<int> p = std::move(owned).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 8);
}

TEST_F(ResultTest, NonTrivialErrorTypeIsDestroyed) {
  {
    const Result<int, Tracked> e = Err{Tracked(3)};
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().get(), 3);
    const Result<int, Tracked> copy = e;
    EXPECT_EQ(copy.error().get(), 3);
    EXPECT_EQ(Tracked::live, 2);
  }
}

static_assert(!std::is_copy_assignable_v<Result<int, TestError>>, "assignment is deleted");

// Trivially copyable parts make a trivially copyable Result (so that the
// calling convention passes it in registers); a part with its own copy or
// destructor keeps Result's own, which copy and destroy the live member.
struct TwoWords {
  uint64_t a;
  uint64_t b;
};
static_assert(std::is_trivially_copyable_v<Result<uint64_t, TestError>>);
static_assert(std::is_trivially_copyable_v<Result<TwoWords, TestError>>);
static_assert(std::is_trivially_destructible_v<Result<Ok, TestError>>);
static_assert(!std::is_trivially_copyable_v<Result<Tracked, TestError>>);
static_assert(!std::is_trivially_copyable_v<Result<int, Tracked>>);
static_assert(!std::is_trivially_destructible_v<Result<std::string, TestError>>);

TEST_F(ResultTest, TriviallyCopyableCopiesKeepTheActiveMember) {
  const Result<TwoWords, TestError> v = TwoWords{1, 2};
  const Result<TwoWords, TestError> v_copy = v;
  ASSERT_TRUE(v_copy.ok());
  EXPECT_EQ(v_copy.value().a, 1u);
  EXPECT_EQ(v_copy.value().b, 2u);
  const Result<TwoWords, TestError> e = Err{TestError::kSecond};
  const Result<TwoWords, TestError> e_copy = e;
  ASSERT_FALSE(e_copy.ok());
  EXPECT_EQ(e_copy.error(), TestError::kSecond);
}

}  // namespace
}  // namespace lamina
