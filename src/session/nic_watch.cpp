#include "session/nic_watch.hpp"

namespace nicperf {

Status NicWatch::open(const std::string& socket) {
  auto c = nic::NicdClient::connect(socket);
  if (!c) return c.error();
  client_.emplace(std::move(*c));
  auto info = client_->request({{"cmd", "info"}});
  if (!info) return info.error();
  info_ = std::move(*info);
  return ok();
}

void NicWatch::begin() {
  if (!client_) return;
  if (auto r = client_->request({{"cmd", "reset"}}); !r) error_ = r.error().message;
}

void NicWatch::end(Report& report) {
  if (!client_) return;
  if (!error_.empty()) {
    report.nic_error = error_;
    return;
  }
  auto reply = client_->request({{"cmd", "stats"}});
  if (!reply) {
    report.nic_error = reply.error().message;
    return;
  }
  auto stats = nic::nic_stats_from_json(*reply);
  if (!stats) {
    report.nic_error = stats.error().message;
    return;
  }
  stats->settings = info_.value("settings", nlohmann::json());
  report.nic = std::move(*stats);
}

}  // namespace nicperf
