import type zh from '../zh-CN/auth'

/** The login and registration page, and the session notices (en). */
const auth: typeof zh = {
  tagline: 'Real-time team chat for your local network',
  login: 'Sign in',
  register: 'Sign up',
  username: 'Username',
  password: 'Password',
  confirmPassword: 'Confirm password',
  confirmPlaceholder: 'Enter the password again',
  submitLogin: 'Sign in',
  submitRegister: 'Create account',
  noAccount: 'No account yet? {link}',
  registerNow: 'Sign up',
  haveAccount: 'Already have an account? {link}',
  goLogin: 'Sign in',
  inviteOnlyHint: 'No account yet? Ask a teammate for an invitation link.',
  closedHint: 'No account yet? Ask an admin to create one for you.',
  rules: {
    usernameRequired: 'Enter a username',
    usernameLength: 'Usernames are 2–32 characters long',
    usernameChars: 'Usernames may contain only letters, digits, _, - and .',
    passwordRequired: 'Enter a password',
    passwordLength: 'Passwords are 8–128 characters long',
    confirmRequired: 'Enter the password again',
    confirmMismatch: 'The passwords do not match',
  },
  errors: {
    network: 'Cannot reach the server. Check your network and try again.',
    badCredentials: 'Wrong username or password',
    usernameTaken: 'This username is already taken',
    busy: 'The server is busy. {hint}',
    tooManyRegistrations: 'Too many sign-ups. {hint}',
    tooManyAttempts: 'Too many attempts. {hint}',
  },
  notice: {
    loggedOut: 'You have signed out.',
    expired: 'Your session has expired. Please sign in again.',
  },
}

export default auth
