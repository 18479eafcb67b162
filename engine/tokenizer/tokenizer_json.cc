#include "engine/tokenizer/tokenizer_json.h"

namespace vamba::tok {
namespace {

using nlohmann::json;

// SAX handler: a plain DOM builder, except that the object under model.vocab and the array under
// model.merges go to TokenizerJson's vectors.
class Handler : public nlohmann::json_sax<json> {
 public:
  explicit Handler(TokenizerJson* out) : out_(out) {}

  const std::string& error() const { return error_; }

  bool null() override { return scalar(json(nullptr)); }
  bool boolean(bool v) override { return scalar(json(v)); }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Mode::kVocab) return vocab_id(static_cast<int64_t>(v), true);
    return scalar(json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::kVocab) {
      return vocab_id(static_cast<int64_t>(v), v <= static_cast<uint64_t>(INT64_MAX));
    }
    return scalar(json(v));
  }
  bool number_float(number_float_t v, const string_t&) override { return scalar(json(v)); }
  bool string(string_t& v) override {
    if (mode_ == Mode::kMerges) return merge_string(v);
    if (mode_ == Mode::kMergePair) {
      pair_.push_back(std::move(v));
      return pair_.size() <= 2 || merge_error();
    }
    return scalar(json(std::move(v)));
  }
  bool binary(binary_t& v) override { return scalar(json(json::binary_t(v))); }

  bool start_object(std::size_t) override {
    if (mode_ == Mode::kDom && special_ == Special::kVocab) {
      special_ = Special::kNone;
      mode_ = Mode::kVocab;
      out_->has_vocab = true;
      return true;
    }
    if (mode_ != Mode::kDom) return mode_ == Mode::kVocab ? vocab_id(0, false) : merge_error();
    return open(json::object());
  }
  bool key(string_t& k) override {
    if (mode_ == Mode::kVocab) {
      key_ = std::move(k);
      return true;
    }
    // Directly inside the top-level "model" object?
    special_ = Special::kNone;
    if (stack_.size() == 2 && in_model_) {
      if (k == "vocab") special_ = Special::kVocab;
      if (k == "merges") special_ = Special::kMerges;
    }
    pending_key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kDom;
      return true;
    }
    return close();
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::kDom && special_ == Special::kMerges) {
      special_ = Special::kNone;
      mode_ = Mode::kMerges;
      out_->has_merges = true;
      return true;
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_.clear();
      return true;
    }
    if (mode_ != Mode::kDom) return mode_ == Mode::kVocab ? vocab_id(0, false) : merge_error();
    return open(json::array());
  }
  bool end_array() override {
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() != 2) return merge_error();
      out_->merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      mode_ = Mode::kMerges;
      return true;
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kDom;
      return true;
    }
    return close();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    if (error_.empty()) error_ = std::string("not valid JSON (") + e.what() + ")";
    return false;
  }

 private:
  enum class Mode { kDom, kVocab, kMerges, kMergePair };
  enum class Special { kNone, kVocab, kMerges };

  bool scalar(json v) {
    if (mode_ == Mode::kVocab) return vocab_id(0, false);
    if (mode_ != Mode::kDom) return merge_error();
    special_ = Special::kNone;
    place(std::move(v));
    return true;
  }
  json* place(json v) {
    if (stack_.empty()) {
      out_->rest = std::move(v);
      return &out_->rest;
    }
    json* parent = stack_.back();
    if (parent->is_array()) {
      parent->push_back(std::move(v));
      return &parent->back();
    }
    json& slot = (*parent)[pending_key_];
    slot = std::move(v);
    return &slot;
  }
  bool open(json container) {
    const bool is_model = stack_.size() == 1 && stack_[0]->is_object() && pending_key_ == "model";
    special_ = Special::kNone;
    stack_.push_back(place(std::move(container)));
    if (stack_.size() == 2) in_model_ = is_model && stack_.back()->is_object();
    return true;
  }
  bool close() {
    stack_.pop_back();
    if (stack_.size() < 2) in_model_ = false;
    return true;
  }
  bool vocab_id(int64_t id, bool integer) {
    if (!integer || id < 0 || id >= INT32_MAX) {
      error_ = "model.vocab[\"" + key_ + "\"] is not a valid token id";
      return false;
    }
    out_->vocab.emplace_back(std::move(key_), id);
    return true;
  }
  bool merge_string(std::string& s) {
    const size_t space = s.find(' ');
    if (space == std::string::npos) {
      error_ =
          "model.merges[" + std::to_string(out_->merges.size()) + "] \"" + s + "\" is not \"a b\"";
      return false;
    }
    out_->merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    return true;
  }
  bool merge_error() {
    error_ =
        "model.merges[" + std::to_string(out_->merges.size()) + "] is neither \"a b\" nor [a, b]";
    return false;
  }

  TokenizerJson* out_;
  std::vector<json*> stack_;
  std::string pending_key_;
  std::string key_;
  std::vector<std::string> pair_;
  Mode mode_ = Mode::kDom;
  Special special_ = Special::kNone;
  bool in_model_ = false;
  std::string error_;
};

}  // namespace

StatusOr<TokenizerJson> parse_tokenizer_json(std::string_view text, const std::string& label) {
  TokenizerJson out;
  Handler handler(&out);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &handler);
  } catch (const json::exception& e) {
    return invalid_argument(label + ": not valid JSON (" + e.what() + ")");
  }
  if (!ok) {
    return invalid_argument(label + ": " +
                            (handler.error().empty() ? "not valid JSON" : handler.error()));
  }
  return out;
}

}  // namespace vamba::tok
