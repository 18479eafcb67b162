// Tokenizer throughput on a few MB of mixed text (golden cases.jsonl repeated: English, code, CJK,
// RTL, emoji, whitespace runs, chat markup). Prints one machine-readable line per case:
//
//   bench=tokenizer case=encode impl=fast pass=cold mb=4.00 seconds=0.12 mb_per_s=33.1 ...
//
// Times are thread CPU seconds. impl=fast is Tokenizer::encode (heap merges + word cache; "cold"
// starts with an empty cache, "warm" repeats the text); impl=naive is Tokenizer::encode_reference
// (same normalizer and pre-tokenizer, textbook O(n^2) BPE rescans, no cache). The run fails (exit
// 1) if they disagree.
//
// usage: tokenizer_bench [--tokenizer DIR] [--cases FILE] [--mb N] [--naive-mb N]
#include <nlohmann/json.hpp>

#include <time.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/streaming_decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace {

// Thread CPU time: the build machine is shared, and wall time there measures the neighbours.
double now_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

std::string golden_dir() {
  const char* env = std::getenv("VAMBA_GOLDEN_DIR");
  return env && *env ? env : VAMBA_DEFAULT_GOLDEN_DIR;
}

void report(const char* bench_case, const char* impl, const char* pass, size_t bytes,
            double seconds, size_t tokens) {
  const double mb = bytes / 1e6;
  std::printf(
      "bench=tokenizer case=%s impl=%s pass=%s mb=%.2f seconds=%.4f mb_per_s=%.2f tokens=%zu "
      "tokens_per_s=%.0f\n",
      bench_case, impl, pass, mb, seconds, mb / seconds, tokens, tokens / seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string tokenizer_dir = golden_dir() + "/tokenizer";
  std::string cases_path = golden_dir() + "/tokenizer/cases.jsonl";
  double target_mb = 4.0, naive_mb = 1.0;
  std::string only;  // run just this case (for profiling)
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--tokenizer") {
      tokenizer_dir = value;
    } else if (flag == "--cases") {
      cases_path = value;
    } else if (flag == "--mb") {
      target_mb = std::atof(value);
    } else if (flag == "--naive-mb") {
      naive_mb = std::atof(value);
    } else if (flag == "--only") {
      only = value;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }

  double t0 = now_s();
  auto loaded = vamba::Tokenizer::load(tokenizer_dir);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().to_string().c_str());
    return 1;
  }
  const vamba::Tokenizer& tok = **loaded;
  std::printf("bench=tokenizer case=load seconds=%.4f vocab=%d\n", now_s() - t0, tok.vocab_size());

  std::vector<std::string> docs;
  {
    std::ifstream in(cases_path);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) docs.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
    }
  }
  if (docs.empty()) {
    std::fprintf(stderr, "no cases in %s\n", cases_path.c_str());
    return 1;
  }
  std::string text;
  while (text.size() < target_mb * 1e6) {
    for (const auto& d : docs) text.append(d).push_back('\n');
  }

  auto want = [&](const char* name) { return only.empty() || only == name; };

  // Stages alone: NFC, then the regex split of the normalized text.
  if (want("stages")) {
    std::string normalized;
    t0 = now_s();
    vamba::tok::append_nfc(text, &normalized);
    report("stage_nfc", "fast", "-", text.size(), now_s() - t0, 0);
    size_t pieces = 0;
    t0 = now_s();
    vamba::tok::for_each_qwen2_piece(normalized, [&](size_t, size_t) { ++pieces; });
    report("stage_split", "fast", "-", normalized.size(), now_s() - t0, pieces);
  }

  // One big text: cold cache, then warm.
  std::vector<int32_t> fast_ids;
  for (const char* pass : {"cold", "warm"}) {
    if (!want("encode") && !want("decode")) break;
    t0 = now_s();
    fast_ids = tok.encode(text);
    report("encode", "fast", pass, text.size(), now_s() - t0, fast_ids.size());
  }

  // Many short requests (each case text separately), the shape of real prompts.
  if (want("encode_per_doc")) {
    size_t bytes = 0, tokens = 0;
    t0 = now_s();
    std::vector<int32_t> ids;
    for (int rep = 0; bytes < target_mb * 1e6; ++rep) {
      for (const auto& d : docs) {
        ids.clear();
        tok.encode(d, &ids);
        bytes += d.size();
        tokens += ids.size();
      }
    }
    report("encode_per_doc", "fast", "warm", bytes, now_s() - t0, tokens);
  }

  if (!want("naive") && !want("decode")) return 0;
  // The naive baseline on a prefix (it is much slower); same prefix through the fast path to check.
  size_t cut = std::min(text.size(), static_cast<size_t>(naive_mb * 1e6));
  while (cut < text.size() && text[cut] != '\n') ++cut;  // whole lines, so pieces agree
  const std::string prefix = text.substr(0, cut);
  t0 = now_s();
  const auto naive_ids = tok.encode_reference(prefix);
  report("encode", "naive", "nocache", prefix.size(), now_s() - t0, naive_ids.size());
  const auto check_ids = tok.encode(prefix);
  if (check_ids != naive_ids) {
    std::fprintf(stderr, "MISMATCH: fast and naive encodings differ\n");
    return 1;
  }

  t0 = now_s();
  const std::string decoded = tok.decode(fast_ids);
  report("decode", "full", "-", decoded.size(), now_s() - t0, fast_ids.size());

  t0 = now_s();
  vamba::StreamingDecoder stream(tok);
  std::string streamed;
  for (int32_t id : fast_ids) stream.push(id, &streamed);
  streamed += stream.flush();
  report("decode", "streaming", "-", streamed.size(), now_s() - t0, fast_ids.size());
  if (streamed != decoded) {
    std::fprintf(stderr, "MISMATCH: streaming and full decode differ\n");
    return 1;
  }
  return 0;
}
