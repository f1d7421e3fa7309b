#include "paho_retry.h"

// mqttpp declares `mqtt::connect_options_test` a friend of connect_options for its own unit
// tests, which are not part of the library; defining it here is the one way to reach the C
// struct without patching Paho. The field is a plain int that connect_options' copy keeps.
namespace mqtt {
class connect_options_test {
  public:
    static void set_retry_interval(connect_options& options, int seconds) {
        options.opts_.retryInterval = seconds;
    }
};
}  // namespace mqtt

namespace errbridge::daemon {

void set_in_session_retry(mqtt::connect_options& options, int seconds) {
    mqtt::connect_options_test::set_retry_interval(options, seconds);
}

}  // namespace errbridge::daemon
