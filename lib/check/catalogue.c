/* catalogue.c — the qcvn-check test catalogue as data: ID (REQUIREMENTS.md), titles in Vietnamese and
 * English, QCVN group, EN 303 645 provisions, TS 103 701 test group, requirement level, needs, what to
 * ask the vendor, and the function that runs it (NULL: vendor evidence decides).
 * Trust level: static data. */
#include "check_internal.h"

#include <string.h>

#define M CHECK_MANDATORY
#define R CHECK_RECOMMENDED
#define N_PROF CHECK_NEEDS_PROFILE
#define N_ADM CHECK_NEEDS_ADMIN
#define N_USR CHECK_NEEDS_USER
#define N_INI CHECK_NEEDS_INITIAL
#define N_DES CHECK_NEEDS_DESTRUCTIVE
#define N_GW CHECK_NEEDS_GATEWAY
#define N_BUN CHECK_NEEDS_BUNDLE
#define N_DOC CHECK_NEEDS_DOCS
#define P_DIS CHECK_PHASE_DISCOVERY
#define P_UNA CHECK_PHASE_UNAUTHENTICATED
#define P_AUT CHECK_PHASE_AUTHENTICATED
#define P_FAI CHECK_PHASE_FAILED_LOGINS
#define P_LCK CHECK_PHASE_LOCKS

static const struct check_test catalogue[] = {
    /* G1 — unique password initialisation */
    {"PW-01", "No well-known default credentials on any authentication surface",
     "Không có thông tin đăng nhập mặc định phổ biến trên mọi giao diện xác thực", "G1", "5.1-1",
     "Test group 5.1-1 (functional)", M, CHECK_NEEDS_NONE, NULL, check_t_pw01, P_FAI, "SC-01"},
    {"PW-02", "Initial password is unique, strong and not derived from device identifiers",
     "Mật khẩu ban đầu là duy nhất, đủ mạnh và không suy ra từ định danh thiết bị", "G1", "5.1-2",
     "Test group 5.1-2 (conceptual + functional)", M, N_INI,
     "The label password generation method (CSPRNG, length, alphabet) and two labels of different units",
     check_t_pw02, P_AUT, "SC-01"},
    {"PW-03", "First login with the initial password forces a password change",
     "Lần đăng nhập đầu bằng mật khẩu ban đầu buộc phải đổi mật khẩu", "G1", "5.1-1",
     "Test group 5.1-1 (functional)", M, N_INI,
     "A unit in factory state with its label, or a screen recording of the first login", check_t_pw03, P_AUT, "SC-01"},
    {"PW-04", "Weak passwords are refused by the password policy",
     "Chính sách mật khẩu từ chối mật khẩu yếu", "G1", "5.1-1, 5.1-4", "Test group 5.1-4 (functional)", M,
     N_ADM, "The password policy statement (length, classes, dictionary)", check_t_pw04, P_AUT, "SC-01"},
    {"PW-05", "A password change applies at once on every surface (web, RTSP, ONVIF)",
     "Việc đổi mật khẩu có hiệu lực ngay trên mọi giao diện (web, RTSP, ONVIF)", "G1", "5.1-4",
     "Test group 5.1-4 (functional)", M, N_ADM,
     "Statement that all surfaces share one credential store, and a test log of RTSP login after a change",
     check_t_pw05, P_AUT, "SC-01"},
    {"PW-06", "No API answer returns a password or a reversible value",
     "Không API nào trả về mật khẩu hoặc giá trị có thể đảo ngược", "G1", "5.1-3, 5.4-1",
     "Test group 5.4-1 (functional)", M, N_ADM, "The list of API routes that return user or credential data",
     check_t_pw06, P_AUT, "SC-01"},
    /* G2 — vulnerability management */
    {"VM-01", "Vulnerability disclosure policy is public and gives contact and timelines",
     "Chính sách công bố lỗ hổng được công khai, có liên hệ và thời hạn xử lý", "G2", "5.2-1",
     "Test group 5.2-1 (conceptual)", M, N_DOC, "The published vulnerability disclosure policy (URL or file)",
     check_t_vm01, P_UNA, "SC-01"},
    {"VM-02", "The device serves /.well-known/security.txt (RFC 9116) without login",
     "Thiết bị cung cấp /.well-known/security.txt (RFC 9116) không cần đăng nhập", "G2", "5.2-1",
     "Test group 5.2-1 (functional)", R, CHECK_NEEDS_NONE, NULL, check_t_vm02, P_UNA, "SC-01"},
    {"VM-03", "Security advisories are published in machine-readable form (CSAF 2.0)",
     "Khuyến cáo bảo mật được công bố ở dạng máy đọc được (CSAF 2.0)", "G2", "5.2-2",
     "Test group 5.2-2 (functional)", R, CHECK_NEEDS_NONE, "URL of the CSAF advisory feed and one sample advisory",
     check_t_vm03, P_UNA, "SC-01"},
    {"VM-04", "Reported vulnerabilities are handled within the stated times",
     "Lỗ hổng được báo cáo được xử lý trong thời hạn đã công bố", "G2", "5.2-2, 5.2-3",
     "Test group 5.2-2 (conceptual)", M, N_DOC, "Records of the last reports: dates received, acknowledged, fixed",
     NULL, P_UNA, NULL},
    /* G3 — update management */
    {"UP-01", "Update traffic is protected by TLS", "Lưu lượng cập nhật được bảo vệ bằng TLS", "G3", "5.3-7",
     "Test group 5.3-7 (functional)", M, N_GW, "Update server URL and a capture of one update check", NULL, P_UNA, NULL},
    {"UP-02", "A fake update server (bad certificate) is refused",
     "Máy chủ cập nhật giả (chứng thư không hợp lệ) bị từ chối", "G3", "5.3-7, 5.3-10", "Test group 5.3-7 (functional)", M,
     N_GW, "How the device verifies the update server (pinned CA) and a test log with a self-signed server", NULL, P_UNA, NULL},
    {"UP-03", "Tampered update bundles are refused and the version is unchanged",
     "Gói cập nhật bị sửa đổi bị từ chối, phiên bản không thay đổi", "G3", "5.3-9, 5.3-10",
     "Test group 5.3-9 (functional)", M, N_PROF | N_ADM | N_BUN,
     "A vendor-signed bundle (profile update.bundle_file); qcvn-check uploads altered copies of it", check_t_up03, P_AUT, "SC-01"},
    {"UP-04", "Downgrade to an older version is refused", "Hạ cấp về phiên bản cũ hơn bị từ chối", "G3", "5.3-9, 5.3-10",
     "Test group 5.3-9 (functional)", M, N_PROF | N_ADM | N_BUN,
     "An older vendor-signed bundle with a lower security version (profile update.older_bundle_file)", check_t_up04, P_AUT, "SC-01"},
    {"UP-05", "Update upload needs authentication", "Tải lên bản cập nhật cần xác thực", "G3", "5.3-2, 5.5-5",
     "Test group 5.3-2 (functional)", M, N_PROF, "The update upload endpoint", check_t_up05, P_UNA, "SC-01"},
    {"UP-06", "Updates are simple to apply", "Cập nhật dễ áp dụng", "G3", "5.3-3", "Test group 5.3-3 (conceptual)",
     R, N_DOC, "User manual section on updates", NULL, P_UNA, NULL},
    {"UP-07", "The update signature algorithm is suitable", "Thuật toán chữ ký cập nhật phù hợp", "G3", "5.3-7",
     "Test group 5.3-7 (conceptual)", M, N_DOC, "Bundle format and signature algorithm description", NULL, P_UNA, NULL},
    {"UP-08", "Security updates are timely and the support period is published",
     "Bản vá bảo mật kịp thời và thời hạn hỗ trợ được công bố", "G3", "5.3-8, 5.3-13",
     "Test group 5.3-13 (conceptual)", M, N_DOC, "Published support period and update history", NULL, P_UNA, NULL},
    /* G4 — storage of sensitive security parameters */
    {"SS-01", "Secrets at rest are sealed under a per-device key",
     "Bí mật lưu trữ được niêm phong bằng khóa riêng của từng thiết bị", "G4", "5.4-1",
     "Test group 5.4-1 (conceptual)", M, N_DOC, "Storage scheme of keys, passwords and tokens", NULL, P_UNA, NULL},
    {"SS-02", "Path traversal and file disclosure probes reveal nothing secret",
     "Thử nghiệm duyệt đường dẫn không làm lộ thông tin bí mật", "G4", "5.4-1, 5.13-1",
     "Test group 5.4-1 (functional)", M, CHECK_NEEDS_NONE, "List of file-like parameters of the API", NULL, P_UNA, NULL},
    {"SS-03", "Configuration export carries no clear secret", "Tệp xuất cấu hình không chứa bí mật dạng rõ",
     "G4", "5.4-1", "Test group 5.4-1 (functional)", M, N_ADM, "The configuration export endpoint", NULL, P_UNA, NULL},
    {"SS-04", "Firmware image holds no private keys or hard-coded credentials",
     "Ảnh firmware không chứa khóa bí mật hay thông tin đăng nhập gắn cứng", "G4", "5.4-3",
     "Test group 5.4-3 (functional)", M, N_DOC, "The firmware image for analysis", NULL, P_UNA, NULL},
    {"SS-05", "TLS keys are unique per device", "Khóa TLS là duy nhất cho từng thiết bị", "G4", "5.4-4",
     "Test group 5.4-4 (functional)", M, N_DOC, "Certificates of two units of the same model", NULL, P_UNA, NULL},
    /* G5 — secure communication */
    {"SC-01", "Service inventory (TCP ports, key UDP ports)", "Kiểm kê dịch vụ (cổng TCP, các cổng UDP chính)",
     "G5", "5.6-1", "Test group 5.6-1 (functional)", M, CHECK_NEEDS_NONE, NULL, check_t_sc01, P_DIS, NULL},
    {"SC-02", "TLS quality on every TLS endpoint (versions, suites, certificate)",
     "Chất lượng TLS trên mọi điểm cuối TLS (phiên bản, bộ mã, chứng thư)", "G5", "5.5-1",
     "Test group 5.5-1 (functional)", M, CHECK_NEEDS_NONE, NULL, check_t_sc02, P_DIS, "SC-01"},
    {"SC-03", "SSH quality if present", "Chất lượng SSH nếu có", "G5", "5.5-1", "Test group 5.5-1 (functional)", M,
     CHECK_NEEDS_NONE, "SSH configuration (algorithms, authentication methods) if SSH is enabled", NULL, P_UNA, NULL},
    {"SC-04", "No cleartext management or credentials (HTTP login, Basic over HTTP, RTSP, telnet, FTP, TFTP, SNMP)",
     "Không quản trị hoặc truyền thông tin đăng nhập dạng rõ (HTTP, RTSP, telnet, FTP, TFTP, SNMP)", "G5",
     "5.5-1, 5.5-7", "Test group 5.5-7 (functional)", M, CHECK_NEEDS_NONE, NULL, check_t_sc04, P_UNA, "SC-01"},
    {"SC-05", "Security-relevant operations are refused without authentication",
     "Thao tác liên quan bảo mật bị từ chối khi chưa xác thực", "G5", "5.5-4, 5.5-5", "Test group 5.5-5 (functional)", M,
     CHECK_NEEDS_NONE, NULL, check_t_sc05, P_UNA, "SC-01"},
    {"SC-06", "Security-relevant operations are refused for a low-privilege user",
     "Thao tác liên quan bảo mật bị từ chối với người dùng quyền thấp", "G5", "5.5-5",
     "Test group 5.5-5 (functional)", M, N_USR, "Credentials of a low-privilege user", check_t_sc06, P_AUT, "SC-01"},
    {"SC-07", "Outbound traffic is encrypted and verifies the server",
     "Lưu lượng đi ra được mã hóa và xác minh máy chủ", "G5", "5.5-1, 5.5-7", "Test group 5.5-1 (functional)", M,
     N_GW, "List of outbound connections (NTP, update, cloud) and their protection", NULL, P_UNA, NULL},
    {"SC-08", "Protocol downgrade is refused", "Hạ cấp giao thức bị từ chối", "G5", "5.5-1",
     "Test group 5.5-1 (functional)", M, CHECK_NEEDS_NONE, NULL, check_t_sc08, P_UNA, "SC-02"},
    /* G6 — interfaces, brute force, sessions */
    {"IF-01", "Only the declared ports listen", "Chỉ các cổng đã khai báo mới mở", "G6", "5.6-1, 5.6-2",
     "Test group 5.6-1 (functional)", M, N_PROF, "The list of ports and services of the device", check_t_if01, P_UNA, "SC-01"},
    {"IF-02", "No unauthenticated disclosure (version banners, serial, MAC)",
     "Không tiết lộ thông tin khi chưa xác thực (phiên bản, số sê-ri, MAC)", "G6", "5.6-2",
     "Test group 5.6-2 (functional)", M, CHECK_NEEDS_NONE, NULL, check_t_if02, P_UNA, "SC-01"},
    {"IF-03", "Stored secrets are never sent back by the UI", "Giao diện không bao giờ gửi lại bí mật đã lưu", "G6",
     "5.6-2, 5.4-1", "Test group 5.6-2 (functional)", M, N_ADM, "Screens and API routes that edit secrets", NULL, P_UNA, NULL},
    {"IF-04", "Caching and framing headers (no-store, clickjacking protection, HSTS)",
     "Tiêu đề chống lưu đệm và chống nhúng khung (no-store, clickjacking, HSTS)", "G6", "5.6-2",
     "Test group 5.6-2 (functional)", R, CHECK_NEEDS_NONE, NULL, check_t_if04, P_AUT, "SC-01"},
    {"IF-05", "Optional services can be switched off and disappear",
     "Dịch vụ tùy chọn có thể tắt và biến mất", "G6", "5.6-1, 5.6-5", "Test group 5.6-1 (functional)", M, N_ADM | N_DES,
     "Settings that switch ONVIF, discovery and other optional services", NULL, P_UNA, NULL},
    {"IF-06", "Physical and debug interfaces are closed", "Giao diện vật lý và gỡ lỗi bị đóng", "G6", "5.6-3, 5.6-4",
     "Test group 5.6-4 (conceptual)", M, N_DOC, "Board photos, UART/JTAG status, manual test script results", NULL, P_UNA, NULL},
    {"BF-01", "Login lockout: threshold, window, duration; right password refused while locked",
     "Khóa đăng nhập: ngưỡng, cửa sổ, thời gian khóa; mật khẩu đúng bị từ chối khi đang khóa", "G6", "5.1-5",
     "Test group 5.1-5 (functional)", M, N_ADM, "Declared lockout parameters", check_t_bf01, P_LCK, "SC-01"},
    {"BF-02", "Guess rate is limited where no lockout applies",
     "Tốc độ đoán bị giới hạn khi không áp dụng khóa", "G6", "5.1-5", "Test group 5.1-5 (functional)", M,
     CHECK_NEEDS_NONE, "Rate limits of authentication surfaces without lockout", NULL, P_UNA, NULL},
    {"BF-03", "Failed-login answers cannot be told apart (status, body, timing)",
     "Không phân biệt được các phản hồi đăng nhập thất bại (mã, nội dung, thời gian)", "G6", "5.1-5",
     "Test group 5.1-5 (functional)", M, CHECK_NEEDS_NONE, NULL, check_t_bf03, P_FAI, "SC-01"},
    {"BF-04", "Lockout parameters are configurable", "Tham số khóa có thể cấu hình", "G6", "5.1-5",
     "Test group 5.1-5 (conceptual)", R, N_ADM | N_DOC, "Configuration screen of the lockout parameters", NULL, P_UNA, NULL},
    {"BF-05", "A failed login is recorded as a security event", "Đăng nhập thất bại được ghi thành sự kiện an ninh",
     "G6", "5.1-5", "Test group 5.1-5 (functional)", R, N_ADM, "The event log API or screen", check_t_bf05, P_FAI, "SC-01"},
    {"BF-06", "Lockout covers several subject types (account, source)",
     "Cơ chế khóa áp dụng cho nhiều loại đối tượng (tài khoản, nguồn)", "G6", "5.1-5",
     "Test group 5.1-5 (conceptual)", R, N_DOC, "Design of the lockout keys", NULL, P_UNA, NULL},
    {"SM-01", "Session cookie flags Secure, HttpOnly, SameSite", "Cờ cookie phiên Secure, HttpOnly, SameSite", "G6",
     "5.1-3, 5.5-1", "Test group 5.1-3 (functional)", M, N_ADM, NULL, check_t_sm01, P_AUT, "SC-01"},
    {"SM-02", "Session tokens have at least 128 bits of entropy", "Mã phiên có ít nhất 128 bit entropy", "G6",
     "5.1-3", "Test group 5.1-3 (functional)", M, N_ADM, NULL, check_t_sm02, P_AUT, "SC-01"},
    {"SM-03", "No session fixation: a new session ID at login", "Không cố định phiên: mã phiên mới khi đăng nhập",
     "G6", "5.1-3", "Test group 5.1-3 (functional)", M, N_ADM, NULL, check_t_sm03, P_AUT, "SC-01"},
    {"SM-04", "Logout ends the session on the server", "Đăng xuất kết thúc phiên phía máy chủ", "G6", "5.1-3",
     "Test group 5.1-3 (functional)", M, N_ADM, NULL, check_t_sm04, P_AUT, "SC-01"},
    {"SM-05", "Idle session timeout", "Phiên hết hạn khi không hoạt động", "G6", "5.1-3",
     "Test group 5.1-3 (functional)", M, N_ADM, "Idle timeout value and a test log with a shortened timeout",
     check_t_sm05, P_AUT, "SC-01"},
    {"SM-06", "A password change ends the user's other sessions", "Đổi mật khẩu kết thúc các phiên khác của người dùng",
     "G6", "5.1-3, 5.1-4", "Test group 5.1-4 (functional)", M, N_ADM, NULL, check_t_sm06, P_AUT, "SC-01"},
    {"SM-07", "Replayed digests and tokens are refused", "Digest và token phát lại bị từ chối", "G6", "5.1-3",
     "Test group 5.1-3 (functional)", M, CHECK_NEEDS_NONE, "ONVIF WS-UsernameToken handling (nonce, created window)",
     NULL, P_UNA, NULL},
    /* G7 — user data protection */
    {"UD-01", "Every personal-data flow is encrypted", "Mọi luồng dữ liệu cá nhân được mã hóa", "G7", "5.8-1, 5.8-2",
     "Test group 5.8-2 (functional)", M, N_GW, "Data flow diagram (video, snapshots, events, clips)", NULL, P_UNA, NULL},
    {"UD-02", "A retention setting exists", "Có thiết lập thời gian lưu giữ", "G7", "5.11-2",
     "Test group 5.11-2 (conceptual)", M, N_ADM | N_DOC, "Retention setting screen", NULL, P_UNA, NULL},
    {"UD-03", "Retention deletes data when due", "Dữ liệu bị xóa khi đến hạn lưu giữ", "G7", "5.11-2",
     "Test group 5.11-2 (functional)", M, N_ADM | N_DES, "Test log of retention with a shifted clock", NULL, P_UNA, NULL},
    {"UD-04", "Data on linked services can be deleted", "Có thể xóa dữ liệu trên dịch vụ liên kết", "G7",
     "5.11-2, 5.11-4", "Test group 5.11-2 (functional)", M, N_ADM | N_DES, "Linked-service deletion procedure", NULL, P_UNA, NULL},
    {"UD-05", "Privacy notice and sensor list", "Thông báo quyền riêng tư và danh sách cảm biến", "G7", "5.8-3, 6-1",
     "Test group 5.8-3 (conceptual)", M, N_DOC, "Privacy notice and manual sensor list", NULL, P_UNA, NULL},
    /* G8 — self-recovery */
    {"RS-01", "Restart keeps configuration and authentication", "Khởi động lại giữ nguyên cấu hình và xác thực",
     "G8", "5.9-1, 5.9-2", "Test group 5.9-1 (functional)", M, N_PROF | N_ADM | N_DES,
     "Consent to reboot the device (consent.restart) and its restart endpoint (profile restart.path)", check_t_rs01, P_AUT, "SC-01"},
    {"RS-02", "Power cut during configuration write or update is survived",
     "Mất điện khi đang ghi cấu hình hoặc cập nhật không làm hỏng thiết bị", "G8", "5.9-1, 5.9-2",
     "Test group 5.9-1 (functional)", M, N_DES | N_DOC, "Design of atomic writes and A/B slots", NULL, P_UNA, NULL},
    {"RS-03", "Reconnects to linked services after an outage", "Tự kết nối lại dịch vụ liên kết sau sự cố", "G8",
     "5.9-2", "Test group 5.9-2 (functional)", R, N_GW, "Linked services used by the device", NULL, P_UNA, NULL},
    {"RS-04", "Reconnection uses back-off with jitter", "Kết nối lại dùng back-off có jitter", "G8", "5.9-3",
     "Test group 5.9-3 (functional)", R, N_GW, "Reconnection policy", NULL, P_UNA, NULL},
    {"RS-05", "The device is alive after the robustness tests", "Thiết bị vẫn hoạt động sau các thử nghiệm bền vững",
     "G8", "5.9-1", "Test group 5.9-1 (functional)", M, CHECK_NEEDS_NONE, "Watchdog design", NULL, P_UNA, NULL},
    /* G9 — deletion */
    {"DEL-01", "Seed user data for deletion tests", "Tạo dữ liệu người dùng cho thử nghiệm xóa", "G9", "5.11-1",
     "Test group 5.11-1 (functional)", M, N_PROF | N_ADM | N_DES,
     "Consent to write and delete data (consent.deletion) and the seed/list endpoints (profile deletion)", check_t_del01, P_AUT, "SC-01"},
    {"DEL-02", "Selective deletion of recordings and snapshots", "Xóa chọn lọc bản ghi và ảnh chụp", "G9", "5.11-1",
     "Test group 5.11-1 (functional)", M, N_PROF | N_ADM | N_DES,
     "Deletion procedure and its endpoint (profile deletion.delete_one), consent.deletion", check_t_del02, P_AUT, "SC-01"},
    {"DEL-03", "Full erase returns to the factory state", "Xóa toàn bộ đưa thiết bị về trạng thái xuất xưởng", "G9",
     "5.11-1", "Test group 5.11-1 (functional)", M, N_PROF | N_ADM | N_INI | N_DES,
     "Consent to a factory erase (consent.factory_reset), its endpoint (profile deletion.factory_reset) and the "
     "label's initial password", check_t_del03, P_AUT, "SC-01"},
    {"DEL-04", "Deletion asks for confirmation and reports its result",
     "Việc xóa yêu cầu xác nhận và báo kết quả", "G9", "5.11-1, 5.11-4", "Test group 5.11-1 (functional)", M,
     N_PROF | N_ADM | N_DES, "Screens of the deletion dialogs, or the deletion endpoints with consent.deletion",
     check_t_del04, P_AUT, "SC-01"},
    /* G10 — protection of data on the camera */
    {"SB-01", "Software integrity verified at boot (secure boot)", "Xác minh toàn vẹn phần mềm khi khởi động (secure boot)",
     "G10", "5.7-1, 5.7-2", "Test group 5.7-1 (conceptual)", R, N_DOC, "Secure boot documentation for the SoC", NULL, P_UNA, NULL},
    /* G11 — input validation */
    {"IV-01", "Malformed HTTP requests get a clear error and the device stays alive",
     "Yêu cầu HTTP sai định dạng nhận lỗi rõ ràng và thiết bị vẫn hoạt động", "G11", "5.13-1",
     "Test group 5.13-1 (functional)", M, CHECK_NEEDS_NONE, NULL, check_t_iv01, P_UNA, "SC-01"},
    {"IV-02", "Malformed RTSP requests are refused and the device stays alive",
     "Yêu cầu RTSP sai định dạng bị từ chối và thiết bị vẫn hoạt động", "G11", "5.13-1",
     "Test group 5.13-1 (functional)", M, CHECK_NEEDS_NONE, NULL, check_t_iv02, P_UNA, "SC-01"},
    {"IV-03", "SOAP/XML robustness (XXE, nesting, size)", "Độ bền SOAP/XML (XXE, lồng sâu, kích thước)", "G11",
     "5.13-1", "Test group 5.13-1 (functional)", M, CHECK_NEEDS_NONE, "ONVIF endpoints if any", NULL, P_UNA, NULL},
    {"IV-04", "Web injection canaries (command injection, XSS, CSRF, open redirect)",
     "Thử nghiệm chèn mã web (command injection, XSS, CSRF, open redirect)", "G11", "5.13-1",
     "Test group 5.13-1 (functional)", M, N_ADM, "List of input fields of the API", NULL, P_UNA, NULL},
    {"IV-05", "Discovery packets are handled safely", "Gói tin khám phá được xử lý an toàn", "G11", "5.13-1",
     "Test group 5.13-1 (functional)", R, CHECK_NEEDS_NONE, "Discovery protocols enabled", NULL, P_UNA, NULL},
    {"IV-06", "Every discovered endpoint is declared", "Mọi điểm cuối phát hiện được đều đã khai báo", "G11",
     "5.6-2, 5.13-1", "Test group 5.6-2 (functional)", R, N_PROF, "The full list of HTTP routes", NULL, P_UNA, NULL},
    /* Documentation (724) */
    {"DOC-01", "User manual covers secure setup, passwords, updates, support period",
     "Hướng dẫn sử dụng bao gồm cài đặt an toàn, mật khẩu, cập nhật, thời hạn hỗ trợ", "DOC", "5.3-13, 5.12-2",
     "Test group 5.3-13 (conceptual)", M, N_DOC, "User manual (Vietnamese and English)", NULL, P_UNA, NULL},
    {"DOC-02", "Manual gives model identification, sensors and data location",
     "Hướng dẫn nêu nhận dạng mẫu, cảm biến và nơi lưu dữ liệu", "DOC", "5.3-16, 5.8-3, 6-1", "Test group 5.3-16 (conceptual)", M,
     N_DOC, "User manual sections on identification, sensors, data location", NULL, P_UNA, NULL},
    {"DOC-03", "Manual explains data deletion and the disclosure policy",
     "Hướng dẫn giải thích xóa dữ liệu và chính sách công bố lỗ hổng", "DOC", "5.11-3, 5.2-1",
     "Test group 5.11-3 (conceptual)", M, N_DOC, "User manual sections on deletion and disclosure", NULL, P_UNA, NULL},
};

const struct check_test *check_catalogue(size_t *n)
{
    *n = SAFECAM_ARRAY_LEN(catalogue);
    return catalogue;
}

const struct check_test *check_catalogue_find(const char *id)
{
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(catalogue); i++)
        if (strcmp(catalogue[i].id, id) == 0)
            return &catalogue[i];
    return NULL;
}

const char *check_group_title(const char *g, const char *lang)
{
    static const struct {
        const char *g, *en, *vi;
    } t[] = {
        {"G1", "Unique password initialisation", "Khởi tạo mật khẩu duy nhất"},
        {"G2", "Vulnerability management", "Quản lý lỗ hổng"},
        {"G3", "Update management", "Quản lý cập nhật"},
        {"G4", "Storage of sensitive security parameters", "Lưu trữ tham số bảo mật nhạy cảm"},
        {"G5", "Secure communication channels", "Kênh truyền thông an toàn"},
        {"G6", "Protection against attacks through device interfaces", "Chống tấn công qua giao diện thiết bị"},
        {"G7", "User data protection", "Bảo vệ dữ liệu người dùng"},
        {"G8", "Self-recovery after an incident", "Tự phục hồi sau sự cố"},
        {"G9", "Deletion of data on the camera", "Xóa dữ liệu trên camera"},
        {"G10", "Protection of data on the camera", "Bảo vệ dữ liệu trên camera"},
        {"G11", "Input validation", "Kiểm tra dữ liệu đầu vào"},
        {"DOC", "Documentation", "Tài liệu"},
    };
    int vi = lang != NULL && strcmp(lang, "vi") == 0;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(t); i++)
        if (strcmp(t[i].g, g) == 0)
            return vi ? t[i].vi : t[i].en;
    return g;
}

const char *check_verdict_name(enum check_verdict v)
{
    switch (v) {
    case CHECK_PASS: return "PASS";
    case CHECK_FAIL: return "FAIL";
    case CHECK_INCONCLUSIVE: return "INCONCLUSIVE";
    case CHECK_NOT_APPLICABLE: return "NOT_APPLICABLE";
    case CHECK_NEEDS_EVIDENCE: return "NEEDS_EVIDENCE";
    }
    return "INCONCLUSIVE";
}

int check_verdict_parse(const char *s)
{
    for (int v = 0; v < CHECK_VERDICT_COUNT; v++)
        if (strcmp(s, check_verdict_name((enum check_verdict)v)) == 0)
            return v;
    return -1;
}
