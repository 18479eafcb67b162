// vamba tokenize: the tokenizer as a filter, for checks and debugging. One JSON object a line:
//   encode (default): {"text": "..."}   -> {"ids": [...]}
//   --decode:         {"ids": [1, 2]}  -> {"text": "..."}
// Output lines come in input order and are flushed one by one, so a caller can talk to it over a
// pipe. Other keys in an input object are ignored (cases.jsonl can be fed as is). A malformed line
// stops the run with a message naming the line and exit code 2; nothing is skipped silently.
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "cli/command.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

constexpr const char* kName = "tokenize";

struct TokenizeOptions {
  std::string tokenizer;
  bool decode = false;
  bool skip_special_tokens = false;
};

int run_tokenize(const TokenizeOptions& o) {
  auto loaded = vamba::Tokenizer::load(o.tokenizer);
  if (!loaded.ok()) return vamba::cli::fail(kName, loaded.status().to_string(), 1);
  const vamba::Tokenizer& tok = **loaded;

  std::ios::sync_with_stdio(false);
  std::string line, out;
  std::vector<int32_t> ids;
  for (int64_t line_no = 1; std::getline(std::cin, line); ++line_no) {
    const std::string where = "stdin line " + std::to_string(line_no) + ": ";
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      return vamba::cli::fail(kName, where + "not valid JSON (" + e.what() + ")", 2);
    }
    if (!j.is_object()) return vamba::cli::fail(kName, where + "expected a JSON object", 2);
    out.clear();
    if (!o.decode) {
      auto text = j.find("text");
      if (text == j.end() || !text->is_string()) {
        return vamba::cli::fail(kName, where + "expected {\"text\": string}", 2);
      }
      ids.clear();
      tok.encode(text->get_ref<const std::string&>(), &ids);
      out = "{\"ids\": [";
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i) out += ", ";
        out += std::to_string(ids[i]);
      }
      out += "]}\n";
    } else {
      auto arr = j.find("ids");
      if (arr == j.end() || !arr->is_array()) {
        return vamba::cli::fail(kName, where + "expected {\"ids\": [integers]}", 2);
      }
      ids.clear();
      for (size_t i = 0; i < arr->size(); ++i) {
        const auto& v = (*arr)[i];
        const bool integer = v.is_number_integer();
        const int64_t id = integer ? v.get<int64_t>() : -1;
        if (!integer || id < 0 || id >= tok.vocab_size() ||
            !tok.is_known(static_cast<int32_t>(id))) {
          return vamba::cli::fail(kName,
                                  where + "ids[" + std::to_string(i) + "] = " + v.dump() +
                                      " is not a token id (0.." +
                                      std::to_string(tok.vocab_size() - 1) + ")",
                                  2);
        }
        ids.push_back(static_cast<int32_t>(id));
      }
      const nlohmann::json text = tok.decode(ids, o.skip_special_tokens);
      out = "{\"text\": " + text.dump() + "}\n";
    }
    std::cout << out << std::flush;
    if (!std::cout) return vamba::cli::fail(kName, "cannot write to stdout", 1);
  }
  return 0;
}

vamba::cli::RunFn setup_tokenize(CLI::App& sub) {
  auto o = std::make_shared<TokenizeOptions>();
  sub.add_option("--tokenizer", o->tokenizer,
                 "Checkpoint folder (or folder or file) holding tokenizer.json")
      ->required();
  sub.add_flag("--decode", o->decode, "Read {\"ids\": [...]} lines and write {\"text\": ...}");
  sub.add_flag("--skip-special-tokens", o->skip_special_tokens,
               "With --decode: leave special tokens out of the text");
  return [o] { return run_tokenize(*o); };
}

const bool registered = vamba::cli::register_command(
    {kName, "Tokenize JSON lines from stdin ({\"text\"} -> {\"ids\"}, or back with --decode)",
     &setup_tokenize});

}  // namespace
