// Result<T, E>: the error-or-value type used everywhere lamina can fail.
//
// C++20 has no std::expected and EL2 code has no exceptions, so fallible
// functions return Result and callers propagate with TRY. Result is
// [[nodiscard]]: ignoring an error is a compile error under -Werror.
#pragma once

#include <new>
#include <type_traits>
#include <utility>

namespace lamina {

// Wraps an error value so that Result's constructors are unambiguous even
// when T and E are the same type.
template <typename E>
struct Err {
  E error;
};
template <typename E>
Err(E) -> Err<E>;

template <typename T, typename E>
class [[nodiscard]] Result {
 public:
  constexpr Result(T value) : ok_(true) { new (&storage_.value) T(std::move(value)); }
  constexpr Result(Err<E> err) : ok_(false) { new (&storage_.error) E(std::move(err.error)); }

  constexpr Result(const Result& other) : ok_(other.ok_) {
    if (ok_) new (&storage_.value) T(other.storage_.value);
    else new (&storage_.error) E(other.storage_.error);
  }
  Result& operator=(const Result&) = delete;
  constexpr ~Result() {
    if (ok_) storage_.value.~T();
    else storage_.error.~E();
  }

  [[nodiscard]] constexpr bool ok() const { return ok_; }
  [[nodiscard]] constexpr explicit operator bool() const { return ok_; }

  // Precondition: ok(). Checked by the caller (TRY or an explicit test).
  [[nodiscard]] constexpr T& value() & { return storage_.value; }
  [[nodiscard]] constexpr const T& value() const& { return storage_.value; }
  [[nodiscard]] constexpr T&& value() && { return std::move(storage_.value); }

  // Precondition: !ok().
  [[nodiscard]] constexpr const E& error() const { return storage_.error; }

  [[nodiscard]] constexpr T value_or(T fallback) const { return ok_ ? storage_.value : fallback; }

 private:
  union Storage {
    constexpr Storage() {}
    constexpr ~Storage() {}
    T value;
    E error;
  } storage_;
  bool ok_;
};

// Result of an operation that produces no value.
struct Ok {};

template <typename E>
using Status = Result<Ok, E>;

}  // namespace lamina

// Evaluates a Result expression; on error returns the error from the
// enclosing function, otherwise yields the value. (GNU statement expression,
// supported by both GCC and Clang.)
#define TRY(expr)                                                   \
  ({                                                                \
    auto lamina_try_result_ = (expr);                               \
    if (!lamina_try_result_.ok())                                   \
      return ::lamina::Err{lamina_try_result_.error()};             \
    std::move(lamina_try_result_).value();                          \
  })
